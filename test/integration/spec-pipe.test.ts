// runc 1.x is started by conmon before its spec exists and reads it from a pipe cricket holds.
// Real conmon and runc on a bundle of the test's own: a spec larger than a pipe's buffer gets
// through whole; a feed that ends without a spec, and a daemon that dies before feeding, leave
// neither a waiting runtime nor a container.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startConmon, type ConmonCreateOptions } from '../../src/oci/conmon.js';
import { openSpecPipe, PENDING_SPEC } from '../../src/oci/spec-pipe.js';
import { probeSpecPipe } from '../../src/oci/spec-pipe-probe.js';
import { findProgram } from '../../src/process/find-program.js';
import { TEST_CGROUP_PARENT, TEST_PREFIX, waitFor } from '../harness/cricket.js';
import { conmonOptions } from '../harness/conmon-options.js';
import { monitorPrograms, processesWhere } from '../harness/processes.js';

const PAUSE = fileURLToPath(new URL('../../../build/native/pause', import.meta.url));
const runcBin = findProgram('runc');

/** Processes whose command line names this container id: conmon, and runc while it runs. */
function processesOf(id: string): number[] {
  return processesWhere((argv) => argv.includes(id));
}

/** A bundle whose rootfs holds only the static pause binary, and conmon's options for it. */
function rig(id: string): { dir: string; options: ConmonCreateOptions; spec: (env: string[]) => string } {
  const dir = mkdtempSync(`${TEST_PREFIX}specpipe-`);
  const options = conmonOptions(dir, id);
  mkdirSync(join(options.bundle, 'rootfs'));
  copyFileSync(PAUSE, join(options.bundle, 'rootfs', 'pause'));
  const template = join(dir, 'template');
  mkdirSync(template);
  execFileSync(runcBin, ['spec', '--bundle', template]);
  const base = JSON.parse(readFileSync(join(template, 'config.json'), 'utf8')) as {
    process: { terminal: boolean; args: string[]; env: string[] };
    root: { path: string; readonly: boolean };
    linux: { cgroupsPath?: string };
  };
  const spec = (env: string[]): string => {
    base.process.terminal = false;
    base.process.args = ['/pause'];
    base.process.env = env;
    base.root = { path: join(options.bundle, 'rootfs'), readonly: true };
    base.linux.cgroupsPath = `/${TEST_CGROUP_PARENT}/${id}`;
    return JSON.stringify(base);
  };
  return { dir, options, spec };
}

function runcList(root: string): string {
  return execFileSync(runcBin, ['--root', root, 'list', '-q'], { encoding: 'utf8' }).trim();
}

for (const { name, program } of monitorPrograms()) {
  test(`${name}: a runtime started before its spec reads a spec larger than the pipe's buffer whole`, async () => {
    const id = `specpipe-big-${process.pid}`;
    const { dir, options, spec } = rig(id);
    try {
      const pipe = await openSpecPipe(options.bundle);
      assert.ok(pipe, 'the addon makes pipes');
      assert.ok(lstatSync(join(options.bundle, 'config.json')).isSymbolicLink());
      const waiting = await startConmon(program, options);
      const creating = waiting.proceed();
      // 200 KiB of environment: the pipe holds 64 KiB, the rest goes as runc reads.
      const env = Array.from({ length: 3200 }, (_, i) => `VAR_${i}=${'v'.repeat(56)}`);
      const text = spec(['PATH=/', ...env, 'LAST=end']);
      assert.ok(text.length > 200_000);
      writeFileSync(join(options.bundle, PENDING_SPEC), text, { mode: 0o600 });
      const [, created] = await Promise.all([pipe.feed(text), creating]);
      await pipe.finish();
      const config = join(options.bundle, 'config.json');
      assert.ok(lstatSync(config).isFile(), 'config.json is a file once runc has read the spec');
      assert.equal(readFileSync(config, 'utf8'), text);
      assert.ok(!existsSync(join(options.bundle, PENDING_SPEC)));
      assert.ok(created.containerPid > 0);
      assert.equal(runcList(options.runcRoot), id);
      execFileSync(runcBin, ['--root', options.runcRoot, 'start', id]);
      // The kernel sets a new program's argument bounds before its environment's, so /pause can
      // show in cmdline while environ still reads empty: wait for the environment's last entry.
      const environ = await waitFor('the container to run /pause with its environment', () => {
        if (!readFileSync(`/proc/${created.containerPid}/cmdline`, 'utf8').startsWith('/pause')) return undefined;
        const entries = readFileSync(`/proc/${created.containerPid}/environ`, 'utf8').split('\0');
        return entries.includes('LAST=end') ? entries : undefined;
      });
      assert.equal(environ.filter((v) => v.startsWith('VAR_')).length, env.length, 'every variable arrived');
      assert.ok(environ.includes(env[env.length - 1]!) && environ.includes('LAST=end'));
      execFileSync(runcBin, ['--root', options.runcRoot, 'delete', '--force', id]);
      await waitFor('conmon to end', () => (processesOf(id).length === 0 ? true : undefined));
    } finally {
      // After a failed assertion too, no container, conmon or cgroup outlives the test; the
      // assertion's own error is the one reported.
      try {
        execFileSync(runcBin, ['--root', options.runcRoot, 'delete', '--force', id], { stdio: 'ignore' });
      } catch {
        // never created, or deleted above
      }
      await waitFor('conmon to end', () => (processesOf(id).length === 0 ? true : undefined)).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${name}: a runtime whose spec feed ends unwritten fails at once and leaves no container`, async () => {
    const id = `specpipe-none-${process.pid}`;
    const { dir, options } = rig(id);
    try {
      const pipe = (await openSpecPipe(options.bundle))!;
      const waiting = await startConmon(program, options);
      const creating = waiting.proceed();
      creating.catch(() => undefined);
      // Let runc reach its read of config.json, as when a CreateContainer fails after its start.
      await new Promise((resolve) => setTimeout(resolve, 100));
      pipe.endFeed();
      await assert.rejects(creating, /runc create failed under the container monitor|the container monitor exited without reporting a pid/);
      pipe.close();
      await assert.rejects(pipe.feed('{}'), /closed/);
      await waitFor('conmon and runc to end', () => (processesOf(id).length === 0 ? true : undefined));
      assert.equal(runcList(options.runcRoot), '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${name}: a runtime whose daemon died before feeding its spec ends without a container`, async () => {
    const id = `specpipe-orphan-${process.pid}`;
    const { dir, options } = rig(id);
    try {
      // A daemon of its own: it opens the pipe, lets conmon run runc, and dies without feeding.
      const script = `import { startConmon } from ${JSON.stringify(fileURLToPath(new URL('../../src/oci/conmon.js', import.meta.url)))};
        import { openSpecPipe } from ${JSON.stringify(fileURLToPath(new URL('../../src/oci/spec-pipe.js', import.meta.url)))};
        const options = JSON.parse(process.argv[2]);
        await openSpecPipe(options.bundle);
        const waiting = await startConmon(process.argv[1], options);
        waiting.proceed().catch(() => undefined);
        setTimeout(() => process.exit(0), Number(process.argv[3]));`;
      for (const [round, lifetimeMs] of [0, 150].entries()) {
        const runId = `${id}-${round}`;
        const opts = { ...options, containerId: runId, bundle: join(dir, runId) };
        mkdirSync(opts.bundle);
        const daemon = spawn(process.execPath, ['--input-type=module', '-e', script, program, JSON.stringify(opts), String(lifetimeMs)], { stdio: ['ignore', 'ignore', 'inherit'] });
        const [code] = (await once(daemon, 'exit')) as [number];
        assert.equal(code, 0);
        await waitFor('the orphaned conmon and runc to end', () => (processesOf(runId).length === 0 ? true : undefined));
      }
      assert.equal(runcList(options.runcRoot), '', 'no container was made');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('the start-up probe finds runc reading its spec from a pipe, and a runtime that cannot is turned away', async () => {
  const dir = mkdtempSync(`${TEST_PREFIX}specpipe-probe-`);
  const scratch = join(dir, 'probes');
  try {
    assert.deepEqual(await probeSpecPipe([runcBin], scratch, 10_000), { works: true });
    // A runtime that cannot open the link (as under a security module that forbids it) and one
    // that reports success without reading anything.
    const refused = join(dir, 'refused');
    writeFileSync(refused, '#!/bin/sh\necho "open config.json: permission denied" >&2\nexit 1\n', { mode: 0o700 });
    const silent = join(dir, 'silent');
    writeFileSync(silent, '#!/bin/sh\nexit 0\n', { mode: 0o700 });
    const first = await probeSpecPipe([refused], scratch, 10_000);
    assert.equal(first.works, false);
    assert.match(first.why ?? '', /permission denied/);
    assert.equal((await probeSpecPipe([silent], scratch, 10_000)).works, false);
    assert.deepEqual(readdirSync(scratch), [], 'the probe leaves nothing in its scratch directory');
    assert.equal(statSync(scratch).mode & 0o777, 0o700);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
