// A user of the node who is not root reaches nothing of what cricket keeps: not a container's
// environment (Kubernetes Secrets travel there), not its spec, not the records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { useCricket } from '../harness/cricket.js';
import { asNobody } from '../harness/processes.js';
import { containerConfig, containerStatus, podConfig, runPod, startContainer } from '../harness/pods.js';

const d = useCricket();

/** The node is searched whole: slower than one command. */
const WHOLE_NODE_MS = 30_000;

test('a secret in a container\'s environment is found by no other user of the node', async () => {
  const secret = `s3cr3t-${Math.random().toString(36).slice(2)}`;
  const pod = podConfig(d, 'secretive');
  const { id } = await runPod(d, pod);
  const c = await startContainer(d, id, pod, containerConfig('app', ['sleep', '60'], { envs: [{ key: 'DB_PASSWORD', value: Buffer.from(secret) }] }));
  assert.equal((await containerStatus(d, c)).state, 'CONTAINER_RUNNING');
  // Root sees it where cricket keeps it (so the search below is a real one).
  const asRoot = spawnSync('grep', ['-rl', '--', secret, d.root, d.stateDir], { encoding: 'utf8' });
  assert.ok(asRoot.stdout.trim().length > 0, 'the secret is in cricket\'s records and bundle');

  // The test's own directory stands in for /var/lib and /run: anyone may pass through it.
  chmodSync(d.dir, 0o711);
  const found = asNobody(['grep', '-rl', '--', secret, d.root, d.stateDir], WHOLE_NODE_MS);
  assert.equal(found.stdout, '', `nobody found the secret in: ${found.stdout}`);
  // Nor in the environment or command line of any process of the pod.
  // (The pattern is written so that this command's own command line does not match it.)
  const pattern = `${secret.slice(0, 3)}[${secret[3]}]${secret.slice(4)}`;
  const procs = asNobody(['sh', '-c', `cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n' | grep -c -- '${pattern}' || true`], WHOLE_NODE_MS);
  assert.equal(procs.stdout.trim(), '0');

  // What cricket writes is root's: every directory in the roots is 0700 (so that nothing below
  // can be reached even by a path learnt from a process list), records 0600.
  const open: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const st = statSync(path, { throwIfNoEntry: false });
      if (!st) continue;
      if (entry.isDirectory() && !entry.isSymbolicLink()) {
        if ((st.mode & 0o077) !== 0) open.push(`${path} ${(st.mode & 0o777).toString(8)}`);
        // Below a closed directory nothing is reachable: no need to look further.
      } else if (entry.name === 'config.json' || entry.name.endsWith('.json')) {
        if ((st.mode & 0o077) !== 0) open.push(`${path} ${(st.mode & 0o777).toString(8)}`);
      }
      if (entry.isDirectory() && depth < 0) walk(path, depth + 1);
    }
  };
  walk(d.root, 0);
  walk(d.stateDir, 0);
  assert.deepEqual(open, []);
  const listing = asNobody(['ls', join(d.stateDir, 'containers')]);
  assert.notEqual(listing.status, 0, 'the container list cannot be read');
  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: id });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: id });
});
