// config.json of the seed pods' containers and of critest-like requests, compared byte for byte
// with the files under test/golden/oci-spec/. CRICKET_UPDATE_GOLDEN=1 rewrites them; review the
// diff before committing it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MountPropagation, NamespaceMode, SecurityProfile_ProfileType } from '../../src/gen/runtime/v1/api.js';
import { resolveUser } from '../../src/container/user.js';
import { containerSpec } from '../../src/oci/spec/container.js';
import { pauseSpec } from '../../src/oci/spec/pause.js';
import type { OciSpec } from '../../src/oci/spec-types.js';
import { containerInput, NODE_V2, pauseInput, pod, podRequest, POD_ID, request, ROOT } from './oci-spec-fixtures.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'golden', 'oci-spec');
const update = process.env.CRICKET_UPDATE_GOLDEN === '1';

function golden(name: string, spec: OciSpec): void {
  const path = join(goldenDir, `${name}.config.json`);
  const text = `${JSON.stringify(spec, null, 2)}\n`;
  if (update) {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(path, text);
    return;
  }
  let expected: string;
  try {
    expected = readFileSync(path, 'utf8');
  } catch {
    assert.fail(`${path} is missing: run with CRICKET_UPDATE_GOLDEN=1 to write it`);
  }
  assert.equal(text, expected, `${name}: the spec differs from ${path}`);
}

const emptyDir = `/var/lib/kubelet/pods/0b5e6a1c/volumes/kubernetes.io~empty-dir/shared-data`;

test('two-containers pod: the httpd and the writer container share the emptyDir', () => {
  golden('two-containers-nginx', containerSpec(containerInput(request('nginx', ['httpd', '-f', '-p', '80', '-h', '/usr/share/nginx/html'], {
    mounts: [{ containerPath: '/usr/share/nginx/html', hostPath: emptyDir }],
  }))));
  golden('two-containers-writer', containerSpec(containerInput(request('debian', ['sh', '-c', 'echo Hello from the debian container > /pod-data/index.html'], {
    mounts: [{ containerPath: '/pod-data', hostPath: emptyDir }],
  }))));
  golden('two-containers-pause', pauseSpec(pauseInput(podRequest('two-containers'))));
});

test('sidecar-proxy pod (mc3): the app and the proxy in front of it', () => {
  const sidecarPod = pod({ hostname: 'sidecar-proxy' });
  golden('sidecar-proxy-app', containerSpec(containerInput(request('app', ['sh', '-c',
    'mkdir -p /tmp/www && echo Hello from the app > /tmp/www/index.html && exec httpd -f -p 127.0.0.1:5000 -h /tmp/www']), { pod: sidecarPod })));
  golden('sidecar-proxy-proxy', containerSpec(containerInput(request('proxy', ['nc', '-ll', '-p', '80', '-e', 'nc', '127.0.0.1', '5000']), { pod: sidecarPod })));
});

test('critest-like: privileged container in a privileged pod', () => {
  golden('privileged', containerSpec(containerInput(request('privileged', ['top'], { linux: { securityContext: { privileged: true } } }), {
    pod: pod({ privileged: true }),
    hostDevices: [
      { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
      { path: '/dev/sda', type: 'b', major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 0 },
    ],
  })));
});

test('critest-like: read-only rootfs', () => {
  golden('readonly-rootfs', containerSpec(containerInput(request('ro', ['top'], { linux: { securityContext: { readonlyRootfs: true } } }))));
});

test('critest-like: host namespaces for the pod and its container', () => {
  const hostNs = { network: NamespaceMode.NODE, pid: NamespaceMode.NODE, ipc: NamespaceMode.NODE };
  golden('host-namespaces', containerSpec(containerInput(request('hostns', ['top'], {
    linux: { securityContext: { namespaceOptions: hostNs } },
  }), { pod: pod({ namespaces: hostNs, netnsPath: '', hostname: 'node-1' }) })));
  golden('host-namespaces-pause', pauseSpec(pauseInput(podRequest('hostns', {
    linux: { cgroupParent: '/kubepods', securityContext: { namespaceOptions: hostNs } },
  }))));
  golden('pod-pid-namespace', containerSpec(containerInput(request('podpid', ['top'], {
    linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.POD } } },
  }))));
});

test('critest-like: capabilities added, dropped, ALL', () => {
  golden('caps-add-drop', containerSpec(containerInput(request('caps', ['top'], {
    linux: { securityContext: { capabilities: { addCapabilities: ['NET_ADMIN', 'sys_time'], dropCapabilities: ['CAP_CHOWN', 'KILL'] } } },
  }))));
  golden('caps-drop-all', containerSpec(containerInput(request('caps', ['top'], {
    linux: { securityContext: { capabilities: { addCapabilities: ['NET_BIND_SERVICE'], dropCapabilities: ['ALL'] } } },
  }))));
  golden('caps-add-all', containerSpec(containerInput(request('caps', ['top'], {
    linux: { securityContext: { capabilities: { addCapabilities: ['ALL'], dropCapabilities: ['SYS_ADMIN'] } } },
  }))));
});

test('critest-like: seccomp RuntimeDefault, Unconfined, Localhost; pause with RuntimeDefault', () => {
  golden('seccomp-runtime-default', containerSpec(containerInput(request('sc', ['top'], {
    linux: { securityContext: { seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault } } },
  }))));
  golden('seccomp-unconfined', containerSpec(containerInput(request('sc', ['top'], {
    linux: { securityContext: { seccomp: { profileType: SecurityProfile_ProfileType.Unconfined } } },
  }))));
  golden('seccomp-localhost', containerSpec(containerInput(request('sc', ['top'], {
    linux: { securityContext: { seccomp: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: '/etc/seccomp/deny-chmod.json' } } },
  }), {
    localhostSeccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['chmod', 'fchmodat'], action: 'SCMP_ACT_ERRNO' }] },
  })));
  golden('pause-seccomp-runtime-default', pauseSpec(pauseInput(podRequest('sc', {
    linux: { cgroupParent: '/kubepods', securityContext: { seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault }, runAsUser: { value: 1000n } } },
    dnsConfig: { servers: ['10.96.0.10'], searches: [], options: [] },
  }))));
});

test('critest-like: resources on cgroup v1 and v2', () => {
  const resources = {
    cpuPeriod: 100000n, cpuQuota: 50000n, cpuShares: 512n, memoryLimitInBytes: 268435456n,
    memorySwapLimitInBytes: 536870912n, oomScoreAdj: -998n, cpusetCpus: '0', cpusetMems: '0',
    hugepageLimits: [{ pageSize: '2MB', limit: 4194304n }],
  };
  golden('resources-v1', containerSpec(containerInput(request('res', ['top'], { linux: { resources } }))));
  golden('resources-v2', containerSpec(containerInput(request('res', ['top'], {
    linux: { resources: { ...resources, unified: { 'memory.high': '200000000' } } },
  }), { node: NODE_V2 })));
});

test('critest-like: user by name and by id, with groups from the image', async (t) => {
  const layer = mkdtempSync(join(tmpdir(), 'cricket-spec-user-'));
  t.after(() => rmSync(layer, { recursive: true, force: true }));
  mkdirSync(join(layer, 'etc'));
  writeFileSync(join(layer, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nwww:x:1000:1000::/home/www:/bin/sh\n');
  writeFileSync(join(layer, 'etc', 'group'), 'root:x:0:\nwww:x:1000:\nstaff:x:50:www\n');
  const byName = request('user', ['top'], { linux: { securityContext: { runAsUsername: 'www', supplementalGroups: [2000n] } } });
  golden('user-by-name', containerSpec(containerInput(byName, {
    user: await resolveUser([layer], { imageUser: '', runAsUsername: 'www', supplementalGroups: [2000] }),
  })));
  const byId = request('user', ['top'], { linux: { securityContext: { runAsUser: { value: 1000n }, runAsGroup: { value: 3000n } } } });
  golden('user-by-id', containerSpec(containerInput(byId, {
    user: await resolveUser([layer], { imageUser: '', runAsUser: 1000, runAsGroup: 3000 }),
  })));
});

test('everything at once: env, workdir, tty, devices, propagation, masked paths', () => {
  golden('kitchen-sink', containerSpec(containerInput(request('all', [], {
    args: ['-c', 'sleep 1'],
    workingDir: '/srv',
    tty: true,
    envs: [{ key: 'A', value: Buffer.from('1') }, { key: 'PATH', value: Buffer.from('/bin') }],
    mounts: [
      { containerPath: '/host', hostPath: '/mnt/host', propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER, readonly: true },
      { containerPath: '/etc/hosts', hostPath: `${ROOT}/custom-hosts` },
    ],
    linux: { securityContext: { noNewPrivs: true, maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'] } },
  }), {
    devices: [{ containerPath: '/dev/fuse', hostPath: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, permissions: 'rw' }],
    pod: pod({ id: POD_ID, namespaces: { network: NamespaceMode.POD, pid: NamespaceMode.POD, ipc: NamespaceMode.POD } }),
  })));
});
