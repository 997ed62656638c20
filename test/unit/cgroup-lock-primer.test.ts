// The daemon's own cgroup as /proc/self/cgroup names it, and the primer's rules: one prime at a
// time, none once the daemon has been moved elsewhere or a move failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { loadConfig } from '../../src/config/config.js';
import { cgroupHost } from '../../src/oci/cgroup-host.js';
import { CgroupLockPrimer, KeptPrimerFiles, ownCgroup, startCgroupLockPrimer, type PrimerIo, type PrimerTiming } from '../../src/oci/cgroup-lock-primer.js';

const v1Host = { version: 1 as const, controllerDir: (c: string) => `/sys/fs/cgroup/${c}` };
const v2Host = { version: 2 as const, controllerDir: () => '/sys/fs/cgroup' };

test('ownCgroup: the unified line on v2, a controller hierarchy on v1, nothing for a gone or odd path', () => {
  assert.deepEqual(ownCgroup('0::/system.slice/cricket.service\n', v2Host), {
    line: '0::/system.slice/cricket.service',
    procsFile: '/sys/fs/cgroup/system.slice/cricket.service/cgroup.procs',
  });
  const v1 = '12:memory:/x/y\n9:name=systemd:/system.slice/cricket.service\n8:pids:/system.slice/cricket.service\n2:cpu,cpuacct:/\n0::/\n';
  assert.deepEqual(ownCgroup(v1, v1Host), {
    line: '8:pids:/system.slice/cricket.service',
    procsFile: '/sys/fs/cgroup/pids/system.slice/cricket.service/cgroup.procs',
  });
  // Without pids, the next controller in order; a combined hierarchy is found by any of its names.
  assert.equal(ownCgroup('2:cpu,cpuacct:/a\n4:memory:/b\n', v1Host)?.procsFile, '/sys/fs/cgroup/cpu/a/cgroup.procs');
  assert.equal(ownCgroup('0::/gone (deleted)\n', v2Host), undefined);
  assert.equal(ownCgroup('0::/a/../b\n', v2Host), undefined);
  assert.equal(ownCgroup('0::relative\n', v2Host), undefined);
  assert.equal(ownCgroup('9:name=systemd:/x\n0::/\n', v1Host), undefined, 'no controller hierarchy named');
  assert.equal(ownCgroup('', v2Host), undefined);
});

const ONE_SHOT: PrimerTiming = { intervalMs: 1, lingerMs: 0 };

function fakeIo(selfCgroup: () => string, write: (file: string, pid: number) => Promise<void>): PrimerIo {
  return { readSelfCgroup: async () => selfCgroup(), writeProcs: write, close: async () => undefined };
}

test('primer: one move at a time, the daemon\'s pid into its own cgroup.procs', async () => {
  const writes: [string, number][] = [];
  let release!: () => void;
  const io = fakeIo(() => '0::/svc\n', (file, pid) => {
    writes.push([file, pid]);
    return new Promise<void>((resolve) => (release = resolve));
  });
  const primer = new CgroupLockPrimer({ line: '0::/svc', procsFile: '/sys/fs/cgroup/svc/cgroup.procs' }, 4242, io, ONE_SHOT);
  const waits: number[] = [];
  primer.onPrimed = (s) => waits.push(s);
  primer.prime();
  primer.prime();
  await new Promise((r) => setImmediate(r));
  primer.prime();
  assert.deepEqual(writes, [['/sys/fs/cgroup/svc/cgroup.procs', 4242]], 'a second prime while one is under way is dropped');
  release();
  await primer.settled();
  assert.equal(primer.primes, 1);
  assert.equal(waits.length, 1);
  primer.prime();
  await new Promise((r) => setImmediate(r));
  assert.equal(writes.length, 2, 'the next one goes once the first is done');
  release();
  await primer.settled();
  assert.equal(primer.primes, 2);
});

test('primer: keeps moving every interval until the linger time after the last prime', async () => {
  const writes: number[] = [];
  const primer = new CgroupLockPrimer({ line: '0::/svc', procsFile: '/p' }, 1, fakeIo(() => '0::/svc\n', async () => void writes.push(performance.now())), { intervalMs: 5, lingerMs: 40 });
  const t0 = performance.now();
  primer.prime();
  await new Promise((r) => setTimeout(r, 20));
  primer.prime(); // extends the window to about 60 ms after t0
  await primer.settled();
  const last = writes[writes.length - 1]! - t0;
  assert.ok(writes.length >= 3, `moves kept coming: ${writes.length}`);
  assert.ok(writes.length <= 14, `no more than one per interval: ${writes.length}`);
  assert.ok(last >= 55, `the second prime extended the window: last move at ${last.toFixed(1)} ms`);
  const done = writes.length;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(writes.length, done, 'nothing after the window');
});

test('primer: stops for good when the daemon was moved, or a move fails', async () => {
  let self = '0::/svc\n';
  const writes: string[] = [];
  const moved = new CgroupLockPrimer({ line: '0::/svc', procsFile: '/p' }, 1, fakeIo(() => self, async (f) => void writes.push(f)), ONE_SHOT);
  self = '0::/elsewhere\n';
  moved.prime();
  await moved.settled();
  assert.deepEqual(writes, [], 'the old cgroup is not written: it would move the daemon back');
  assert.equal(moved.enabled, false);
  self = '0::/svc\n';
  moved.prime();
  await moved.settled();
  assert.deepEqual(writes, []);

  let calls = 0;
  const failing = new CgroupLockPrimer({ line: '0::/svc', procsFile: '/p' }, 1, fakeIo(() => '0::/svc\n', async () => {
    calls++;
    throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
  }), { intervalMs: 1, lingerMs: 1000 });
  failing.prime();
  await failing.settled();
  failing.prime();
  await failing.settled();
  assert.equal(calls, 1);
  assert.equal(failing.enabled, false);
});

test('primer on this host: on when asked, and a prime leaves the process in its cgroups', async (t) => {
  assert.equal(startCgroupLockPrimer(false, cgroupHost()).enabled, false);
  if (process.getuid?.() !== 0) return t.skip('needs root to write cgroup.procs');
  const primer = startCgroupLockPrimer(true, cgroupHost(), ONE_SHOT);
  assert.equal(primer.enabled, true, 'this process\'s own cgroup is found and lists it');
  const before = readFileSync('/proc/self/cgroup', 'utf8');
  for (let i = 0; i < 3; i++) {
    primer.prime();
    await primer.settled();
  }
  assert.equal(primer.primes, 3, 'the kept files serve every move');
  assert.equal(primer.enabled, true);
  assert.equal(readFileSync('/proc/self/cgroup', 'utf8'), before);
  const cgroupFiles = () => readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return /^\/(proc\/\d+\/cgroup|sys\/fs\/cgroup\/.*cgroup\.procs)$/.test(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      return false;
    }
  });
  assert.equal(cgroupFiles().length, 2, 'both files are kept open between moves');
  await primer.stop();
  assert.deepEqual(cgroupFiles(), [], 'stopping closes them');
  primer.prime();
  await primer.settled();
  assert.equal(primer.primes, 3, 'no move once stopped');
});

test('primer: stop waits for the move under way, closes the files, and none follows', async () => {
  let release!: () => void;
  const writes: number[] = [];
  let closed = 0;
  const io: PrimerIo = {
    readSelfCgroup: async () => '0::/svc\n',
    writeProcs: async () => {
      writes.push(performance.now());
      await new Promise<void>((resolve) => (release = resolve));
    },
    close: async () => void closed++,
  };
  const primer = new CgroupLockPrimer({ line: '0::/svc', procsFile: '/p' }, 1, io, { intervalMs: 1, lingerMs: 1000 });
  primer.prime();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(writes.length, 1);
  const stopping = primer.stop();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(closed, 0, 'not closed under a move');
  release();
  await stopping;
  assert.equal(closed, 1);
  assert.equal(writes.length, 1, 'the linger time left is given up');
  assert.equal(primer.enabled, false);
});

test('kept primer files: each read is the file as it is now, each write goes out whole', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const own = new KeptPrimerFiles();
  assert.equal(await own.readSelfCgroup(), readFileSync('/proc/self/cgroup', 'utf8'));
  assert.equal(await own.readSelfCgroup(), readFileSync('/proc/self/cgroup', 'utf8'), 'a second read starts over');
  const dir = mkdtempSync(join(tmpdir(), 'cricket-unit-kept-'));
  try {
    const self = join(dir, 'cgroup');
    writeFileSync(self, '0::/first/one\n');
    const files = new KeptPrimerFiles(self);
    assert.equal(await files.readSelfCgroup(), '0::/first/one\n');
    writeFileSync(self, '0::/b\n');
    assert.equal(await files.readSelfCgroup(), '0::/b\n', 'the same open file, read again from its start');
    writeFileSync(self, 'x'.repeat(20_000));
    assert.equal((await files.readSelfCgroup()).length, 20_000, 'a file larger than the buffer is read whole');
    const procs = join(dir, 'cgroup.procs');
    writeFileSync(procs, '');
    await files.writeProcs(procs, 7);
    await files.writeProcs(procs, 7);
    assert.equal(readFileSync(procs, 'utf8'), '7\n7\n');
    await assert.rejects(files.writeProcs(join(dir, 'missing'), 7), /ENOENT/);
    await files.close();
    await files.close();
    await files.writeProcs(procs, 8);
    // A plain file stands in for cgroup.procs: the handle opened anew writes from its start.
    assert.equal(readFileSync(procs, 'utf8'), '8\n7\n', 'a write after closing opens the file again');
    await files.close();
    await own.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config: prime_cgroup_lock is on by default, a boolean when given', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  assert.equal(loadConfig({ config: '/dev/null' }).primeCgroupLock, true);
  const dir = mkdtempSync(join(tmpdir(), 'cricket-unit-prime-'));
  try {
    const file = join(dir, 'config.toml');
    writeFileSync(file, 'prime_cgroup_lock = false\n');
    assert.equal(loadConfig({ config: file }).primeCgroupLock, false);
    writeFileSync(file, 'prime_cgroup_lock = "no"\n');
    assert.throws(() => loadConfig({ config: file }), /prime_cgroup_lock must be true or false/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
