// The import rule of scripts/check-imports.mjs: src/ passes it, and the script catches a circle
// between files, a circle between folders of one layer, and an import up into a higher layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/unit/ -> the repository
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const script = join(repo, 'scripts', 'check-imports.mjs');

function run(args: string[]): { status: number | null; problems: string[]; stale: string[] } {
  const out = spawnSync(process.execPath, [script, '--json', ...args], { encoding: 'utf8', timeout: 30_000 });
  const parsed = JSON.parse(out.stdout) as { problems: string[]; stale: string[] };
  return { status: out.status, ...parsed };
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cricket-imports-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

test('src/ has no import circle and no upward import beyond the allow-list', () => {
  const result = run([]);
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.stale, [], 'allow-list entries that no import needs any more');
  assert.equal(result.status, 0);
});

test('the check finds an upward import, circles between files and between folders', (t) => {
  const dir = tree({
    // log (layer 0) importing server (layer 7): upward.
    'log/logger.ts': "import { x } from '../server/unary.js';\nexport const y = x;\n",
    'server/unary.ts': 'export const x = 1;\n',
    // A circle of two files in one folder, one of them through `import type`.
    'image/a.ts': "import type { B } from './b.js';\nexport type A = B;\n",
    'image/b.ts': "import { a } from './c.js';\nexport type B = number;\nexport const b = a;\n",
    'image/c.ts': "export { b as a } from './b.js';\n",
    // Folders of one layer importing each other without a file circle.
    'sandbox/one.ts': "import { s } from '../stats/one.js';\nexport const t = s;\n",
    'stats/one.ts': 'export const s = 1;\n',
    'stats/two.ts': "import { t } from '../sandbox/one.js';\nexport const u = t;\n",
    // An import inside a comment is not an import.
    'errors.ts': "// import { x } from './server/unary.js';\nexport const e = 1;\n",
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const result = run(['--root', dir]);
  assert.equal(result.status, 1);
  assert.ok(result.problems.includes('upward import: log/logger (layer 0) -> server/unary (layer 7)'), result.problems.join('\n'));
  assert.ok(result.problems.includes('import circle between files: image/b, image/c'), result.problems.join('\n'));
  assert.ok(result.problems.includes('import circle between folders: sandbox, stats'), result.problems.join('\n'));
  assert.ok(!result.problems.some((p) => p.startsWith('upward import: errors')), 'a commented import counted');
});
