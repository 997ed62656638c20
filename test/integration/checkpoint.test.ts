// CheckpointContainer: an archive of a running container where CRIU works; a quick, clear
// FAILED_PRECONDITION (with CRIU's reason) where it cannot, and bad requests refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { BUSYBOX, useCricket, type TestDaemon } from '../harness/cricket.js';
import { containerConfig, podConfig, runPod, startContainer } from '../harness/pods.js';

const d: TestDaemon = useCricket();

/** What this node's CRIU says of itself, asked the way cricket asks. */
function criuCheck(): { ok: boolean; output: string } {
  try {
    return { ok: true, output: execFileSync('criu', ['check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }) };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return { ok: false, output: e.stderr ?? e.message };
  }
}

test('a running container is checkpointed to the archive, or refused at once with CRIU\'s reason', async () => {
  const pod = podConfig(d, 'ckpt');
  const { id: podId } = await runPod(d, pod);
  const id = await startContainer(d, podId, pod, containerConfig('counter', ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.2; done']));
  const dir = join(d.dir, 'checkpoints');
  mkdirSync(dir);
  const location = join(dir, 'checkpoint-counter.tar');
  const criu = criuCheck();
  const started = Date.now();
  const call = d.cri.runtime.call('CheckpointContainer', { container_id: id, location, timeout: 60 }, { deadlineMs: 120_000 });
  if (!criu.ok) {
    await assert.rejects(call, (err: { code: number; details: string }) => {
      assert.equal(err.code, status.FAILED_PRECONDITION);
      assert.match(err.details, /CRIU cannot checkpoint on this node: criu check failed/);
      // The reason is CRIU's own first error line.
      const firstError = criu.output.split('\n').find((l) => l.startsWith('Error'))!;
      assert.ok(err.details.includes(firstError.trim()), `${err.details} names ${firstError}`);
      return true;
    });
    assert.ok(Date.now() - started < 30_000, 'refused without waiting for the timeout');
    assert.ok(!existsSync(location), 'no archive, not even part of one');
    assert.deepEqual(readdirSync(dir), []);
  } else {
    await call;
    const names = execFileSync('tar', ['-tf', location], { encoding: 'utf8' }).split('\n');
    for (const want of ['config.dump', 'spec.dump', 'rootfs-diff.tar', 'deleted.files']) assert.ok(names.includes(want), want);
    assert.ok(names.some((n) => n.startsWith('checkpoint/') && n.endsWith('.img')), 'CRIU images');
    const { status: s } = await d.cri.runtime.call<{ status: { state: string } }>('ContainerStatus', { container_id: id });
    assert.equal(s.state, 'CONTAINER_RUNNING', 'the container goes on running');
  }
  // The container is untouched either way.
  const again = await d.cri.runtime.call<{ status: { state: string } }>('ContainerStatus', { container_id: id });
  assert.equal(again.status.state, 'CONTAINER_RUNNING');
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test('bad checkpoint requests: unknown container, relative or odd location, exited container', async () => {
  const pod = podConfig(d, 'ckpt-bad');
  const { id: podId } = await runPod(d, pod);
  const id = await startContainer(d, podId, pod, containerConfig('sleeper', ['sleep', '300']));
  const call = (req: Record<string, unknown>) => d.cri.runtime.call('CheckpointContainer', req);
  await assert.rejects(call({ container_id: 'nope', location: join(d.dir, 'x.tar') }), { code: status.NOT_FOUND });
  await assert.rejects(call({ container_id: '', location: join(d.dir, 'x.tar') }), { code: status.INVALID_ARGUMENT });
  await assert.rejects(call({ container_id: id, location: '' }), { code: status.INVALID_ARGUMENT });
  await assert.rejects(call({ container_id: id, location: 'relative.tar' }), { code: status.INVALID_ARGUMENT });
  await assert.rejects(call({ container_id: id, location: `${d.dir}/../escape.tar` }), { code: status.INVALID_ARGUMENT });
  await assert.rejects(call({ container_id: id, location: join(d.dir, 'no-such-dir', 'x.tar') }), { code: status.INVALID_ARGUMENT });
  await assert.rejects(call({ container_id: id, location: d.dir }), { code: status.INVALID_ARGUMENT });
  await assert.rejects(call({ container_id: id, location: join(d.dir, 'x.tar'), timeout: -1 }), { code: status.INVALID_ARGUMENT });
  await d.cri.runtime.call('StopContainer', { container_id: id, timeout: 0 });
  await assert.rejects(call({ container_id: id, location: join(d.dir, 'x.tar') }), { code: status.FAILED_PRECONDITION });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test('CreateContainer from a checkpoint archive: checked as an archive, then restored where CRIU works', async () => {
  const pod = podConfig(d, 'restore');
  const { id: podId } = await runPod(d, pod);
  const src = join(d.dir, 'archive-src');
  mkdirSync(join(src, 'checkpoint'), { recursive: true });
  writeFileSync(join(src, 'checkpoint', 'inventory.img'), 'not a real image');
  writeFileSync(join(src, 'config.dump'), JSON.stringify({ id: 'x', name: 'counter', rootfsImageName: BUSYBOX, runtime: 'runc', createdTime: new Date().toISOString() }));
  writeFileSync(join(src, 'spec.dump'), JSON.stringify({ process: { args: ['sleep', '300'] } }));
  const archive = join(d.dir, 'restore.tar');
  execFileSync('tar', ['-cf', archive, '-C', src, 'checkpoint', 'config.dump', 'spec.dump']);
  const create = (image: string) => d.cri.runtime.call('CreateContainer', { pod_sandbox_id: podId, config: containerConfig('restored', [], { image: { image } }), sandbox_config: pod });

  const criu = criuCheck();
  const started = Date.now();
  if (!criu.ok) {
    await assert.rejects(create(archive), (err: { code: number; details: string }) => {
      assert.equal(err.code, status.FAILED_PRECONDITION);
      assert.match(err.details, /restoring checkpoint .*restore\.tar \(of counter, image cricket\.local\/busybox:latest\) needs CRIU, which cannot work on this node: criu check failed/);
      return true;
    });
    assert.ok(Date.now() - started < 30_000);
  } else {
    // A made-up image set is no process to restore: runc restore fails, and says so.
    await assert.rejects(create(archive), (err: { code: number }) => err.code !== status.OK);
  }

  // A file that is no checkpoint archive, and an archive without CRIU images: INVALID_ARGUMENT.
  const notTar = join(d.dir, 'not-a-tar');
  writeFileSync(notTar, 'hello');
  await assert.rejects(create(notTar), { code: status.INVALID_ARGUMENT });
  const noConfig = join(d.dir, 'no-config.tar');
  execFileSync('tar', ['-cf', noConfig, '-C', src, 'spec.dump']);
  await assert.rejects(create(noConfig), { code: status.INVALID_ARGUMENT });
  const noImages = join(d.dir, 'no-images.tar');
  execFileSync('tar', ['-cf', noImages, '-C', src, 'config.dump', 'spec.dump']);
  await assert.rejects(create(noImages), { code: status.INVALID_ARGUMENT });
  // A path that is not there is an image reference like any other: not found.
  await assert.rejects(create(join(d.dir, 'missing.tar')), { code: status.NOT_FOUND });
  const { containers } = await d.cri.runtime.call<{ containers: unknown[] }>('ListContainers', {});
  assert.equal(containers.length, 0, 'nothing made');
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
});
