// CDI devices: names resolved from spec files in the daemon's CDI directories, their edits
// (device node, environment, mount, hook) seen inside the container; unknown names refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { useCricket, type StartOptions, type TestDaemon } from '../harness/cricket.js';
import { containerConfig, logLines, podConfig, runPod, startContainer, waitExited } from '../harness/pods.js';

const opts: StartOptions = {
  configToml: '',
  prepare(dir) {
    // Two directories, the second of higher priority, as /etc/cdi and /var/run/cdi.
    opts.configToml = `cdi_spec_dirs = ["${dir}/cdi-etc", "${dir}/cdi-run"]\n`;
  },
};
const d: TestDaemon = useCricket(opts);

function writeSpecs(): void {
  const etc = join(d.dir, 'cdi-etc');
  const run = join(d.dir, 'cdi-run');
  const shared = join(d.dir, 'cdi-shared');
  mkdirSync(etc, { recursive: true });
  mkdirSync(run, { recursive: true });
  mkdirSync(shared, { recursive: true });
  writeFileSync(join(shared, 'firmware.txt'), 'firmware-v1\n');
  writeFileSync(
    join(etc, 'test.json'),
    JSON.stringify({
      cdiVersion: '0.6.0',
      kind: 'cricket.test/widget',
      containerEdits: { env: ['WIDGET_VENDOR=cricket'] },
      devices: [
        {
          name: 'w0',
          containerEdits: {
            env: ['WIDGET=w0'],
            deviceNodes: [{ path: '/dev/cdi-test', hostPath: '/dev/null', permissions: 'rw' }],
            mounts: [{ hostPath: shared, containerPath: '/opt/widget', options: ['rbind', 'ro'] }],
            hooks: [{ hookName: 'createRuntime', path: '/bin/sh', args: ['sh', '-c', `touch ${d.dir}/hook-ran`] }],
          },
        },
        { name: 'shadowed', containerEdits: { env: ['WHICH=etc'] } },
      ],
    }),
  );
  // The same kind in the higher-priority directory: its `shadowed` wins.
  writeFileSync(join(run, 'test-override.json'), JSON.stringify({ cdiVersion: '0.6.0', kind: 'cricket.test/widget', devices: [{ name: 'shadowed', containerEdits: { env: ['WHICH=run'] } }] }));
  writeFileSync(join(run, 'broken.json'), '{ not json');
}

test('a CDI device from CDI_devices: device node, environment, mount and hook in the container', async () => {
  writeSpecs();
  const pod = podConfig(d, 'cdi');
  const { id: podId } = await runPod(d, pod);
  const script = 'stat -c "%t:%T %F" /dev/cdi-test; echo x > /dev/cdi-test && echo wrote; echo "$WIDGET $WIDGET_VENDOR $WHICH"; cat /opt/widget/firmware.txt; touch /opt/widget/new 2>/dev/null || echo read-only';
  const id = await startContainer(d, podId, pod, containerConfig('dev', ['sh', '-c', script], { CDI_devices: [{ name: 'cricket.test/widget=w0' }, { name: 'cricket.test/widget=shadowed' }] }));
  const lines = logLines((await waitExited(d, id)).log_path);
  assert.deepEqual(lines, ['1:3 character special file', 'wrote', 'w0 cricket run', 'firmware-v1', 'read-only']);
  assert.ok(existsSync(join(d.dir, 'hook-ran')), 'the createRuntime hook ran');
  const spec = JSON.parse(readFileSync(join(d.stateDir, 'containers', id, 'config.json'), 'utf8')) as { linux: { resources: { devices: { allow: boolean; major?: number; minor?: number; access?: string }[] } } };
  assert.ok(spec.linux.resources.devices.some((r) => r.allow && r.major === 1 && r.minor === 3 && r.access === 'rw'), 'the cgroup allows the device');
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test('a CDI device from a cdi.k8s.io annotation', async () => {
  writeSpecs();
  const pod = podConfig(d, 'cdi-annotation');
  const { id: podId } = await runPod(d, pod);
  const id = await startContainer(d, podId, pod, containerConfig('dev', ['sh', '-c', 'echo "$WIDGET"; test -c /dev/cdi-test && echo node'], { annotations: { 'cdi.k8s.io/widget': 'cricket.test/widget=w0' } }));
  assert.deepEqual(logLines((await waitExited(d, id)).log_path), ['w0', 'node']);
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
});

test('unknown or malformed CDI names are INVALID_ARGUMENT and leave nothing behind', async () => {
  writeSpecs();
  const pod = podConfig(d, 'cdi-bad');
  const { id: podId } = await runPod(d, pod);
  for (const name of ['cricket.test/widget=nope', 'other.vendor/x=w0', 'not-qualified', 'cricket.test/widget=', '/etc/passwd']) {
    await assert.rejects(
      d.cri.runtime.call('CreateContainer', { pod_sandbox_id: podId, config: containerConfig('c', ['true'], { CDI_devices: [{ name }] }), sandbox_config: pod }),
      { code: status.INVALID_ARGUMENT },
      name,
    );
  }
  await assert.rejects(
    d.cri.runtime.call('CreateContainer', { pod_sandbox_id: podId, config: containerConfig('c', ['true'], { annotations: { 'cdi.k8s.io/x': 'cricket.test/widget=missing' } }), sandbox_config: pod }),
    { code: status.INVALID_ARGUMENT },
  );
  const { containers } = await d.cri.runtime.call<{ containers: unknown[] }>('ListContainers', {});
  assert.equal(containers.length, 0);
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: podId });
});
