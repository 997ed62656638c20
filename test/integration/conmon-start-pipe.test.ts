// The monitor (cricket's own, and conmon) is started before the container's bundle is complete
// and waits on its start pipe. A CreateContainer that fails in between ends it; a daemon that
// dies in between leaves a monitor that ends without a container (cricket-monitor runs nothing;
// conmon runs the runtime on the incomplete bundle, which fails).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startConmon } from '../../src/oci/conmon.js';
import { findProgram } from '../../src/process/find-program.js';
import { TEST_PREFIX, waitFor } from '../harness/cricket.js';
import { conmonOptions } from '../harness/conmon-options.js';
import { conmonsOf, monitorPrograms } from '../harness/processes.js';

const runcProgram = findProgram('runc');

for (const { name, program } of monitorPrograms()) {
  test(`${name}: a waiting monitor that is abandoned is gone, and ran nothing`, async () => {
    const dir = mkdtempSync(`${TEST_PREFIX}conmon-`);
    try {
      const id = `abandoned-${process.pid}`;
      const waiting = await startConmon(program, conmonOptions(dir, id));
      assert.equal(conmonsOf(id).length, 1, 'conmon runs, waiting on its start pipe');
      await waiting.abandon();
      assert.deepEqual(conmonsOf(id), []);
      assert.deepEqual(readdirSync(join(dir, 'runc')), [], 'the runtime never ran');
      await waiting.abandon();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${name}: a monitor told to proceed on a bundle without config.json reports the runtime's failure`, async () => {
    const dir = mkdtempSync(`${TEST_PREFIX}conmon-`);
    try {
      const id = `no-spec-${process.pid}`;
      const waiting = await startConmon(program, conmonOptions(dir, id));
      await assert.rejects(waiting.proceed(), /runc create failed under the container monitor|the container monitor exited without reporting a pid/);
      await waitFor('conmon to end', () => (conmonsOf(id).length === 0 ? true : undefined));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${name}: a monitor whose daemon died before the start write ends without a container`, async () => {
    const dir = mkdtempSync(`${TEST_PREFIX}conmon-`);
    try {
      const id = `orphan-${process.pid}`;
      // A daemon of its own, which starts conmon and dies at once, closing the start pipe unwritten.
      const script = `import { startConmon } from ${JSON.stringify(fileURLToPath(new URL('../../src/oci/conmon.js', import.meta.url)))};
        await startConmon(process.argv[1], JSON.parse(process.argv[2]));
        process.stdout.write('started\\n');
        process.exit(0);`;
      const daemon = spawn(process.execPath, ['--input-type=module', '-e', script, program, JSON.stringify(conmonOptions(dir, id))], { stdio: ['ignore', 'pipe', 'inherit'] });
      const [code] = (await once(daemon, 'exit')) as [number];
      assert.equal(code, 0);
      await waitFor('the orphaned conmon to end', () => (conmonsOf(id).length === 0 ? true : undefined));
      const { stdout } = await new Promise<{ stdout: string }>((resolve) => {
        const runc = spawn(runcProgram, ['--root', join(dir, 'runc'), 'list', '-q'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        runc.stdout.on('data', (c: Buffer) => (out += c.toString()));
        runc.on('exit', () => resolve({ stdout: out }));
      });
      assert.equal(stdout.trim(), '', 'no container was made');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
