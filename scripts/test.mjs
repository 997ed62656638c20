// npm test: builds, then runs unit tests, integration tests (through the CRI socket, as root, with
// real runc, conmon and CNI plugins) and, last, the check that nothing was left on the machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGoClient, ensureGoClientTools } from './go-client.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.getuid?.() !== 0) {
  console.error('the test suite runs pods and must run as root');
  process.exit(1);
}
execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
// The CRI socket is also tested with grpc-go, the library kubelet and crictl are built on
// (test/integration/grpc-go-client.test.ts): Debian's Go and grpc-go build the client.
const log = (line) => console.log(`[test] ${line}`);
ensureGoClientTools(log);
buildGoClient(root, log);

const files = (dir) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => join(dir, f));
const only = process.argv.slice(2);
const selected = only.length ? only : [...files('dist/test/unit'), ...files('dist/test/integration')];
// node --test runs files in the order of their paths, whatever order they are given in: the
// leftover check lives in test/verify/ so that it sorts, and runs, after unit/ and integration/.
const ordered = [...selected, 'dist/test/verify/no-leftovers.test.js'];

// The leftover check fails on what an earlier run left too; say so now, so that failure names
// its cause. The slot's prefix is the built harness's own.
const { TEST_PREFIX } = await import('../dist/test/harness/cricket.js');
const earlier = readdirSync('/tmp').filter((n) => `/tmp/${n}`.startsWith(TEST_PREFIX));
if (earlier.length) console.log(`[test] left in /tmp before this run, the leftover check will fail on them: ${earlier.join(', ')}`);

const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...ordered], {
  cwd: root,
  stdio: 'inherit',
  // Expected warnings (rejected connections, refused requests) would drown the report.
  env: { ...process.env, CRICKET_LOG_LEVEL: process.env.CRICKET_LOG_LEVEL ?? 'fatal' },
});
process.exit(result.status ?? 1);
