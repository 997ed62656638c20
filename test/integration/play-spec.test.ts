// What a played Pod's spec turns into: resources, security context, mounts, host port, process
// namespace sharing, a tmpfs emptyDir — read back from the runtime spec and from inside the pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_SUBNET, useCricket } from '../harness/cricket.js';
import { httpGetEventually } from '../harness/pods.js';
import { cliOk, playFlags } from '../harness/play.js';
import type { Message } from '../client/cri.js';

const d = useCricket();
const BB = 'cricket.local/busybox:latest';

interface RuntimeSpec {
  process: { user: { uid: number; gid: number }; noNewPrivileges?: boolean; capabilities?: { bounding: string[] }; cwd: string };
  root: { readonly?: boolean };
  mounts: { destination: string; source: string; options?: string[] }[];
  linux: { resources?: { cpu?: { shares?: number; quota?: number; period?: number }; memory?: { limit?: number } }; namespaces: { type: string; path?: string }[] };
}

async function specOf(id: string): Promise<RuntimeSpec> {
  const res = await d.cri.runtime.call<{ info: { info: string } }>('ContainerStatus', { container_id: id, verbose: true });
  return (JSON.parse(res.info.info) as { runtimeSpec: RuntimeSpec }).runtimeSpec;
}

async function exec(id: string, cmd: string[]): Promise<{ stdout: string; exit_code: number }> {
  const r = await d.cri.runtime.call<{ stdout: Buffer; exit_code: number }>('ExecSync', { container_id: id, cmd, timeout: 10 });
  return { stdout: r.stdout.toString(), exit_code: r.exit_code };
}

test('resources, securityContext, volumes and namespaces as kubelet would ask for them', async () => {
  const hostDir = join(d.dir, 'host-data');
  mkdirSync(hostDir);
  writeFileSync(join(hostDir, 'from-host'), 'host file\n');
  const yaml = `
apiVersion: v1
kind: Pod
metadata: {name: specced, labels: {tier: demo}}
spec:
  shareProcessNamespace: true
  securityContext: {runAsUser: 1000, runAsGroup: 1000, supplementalGroups: [2000]}
  volumes:
    - {name: scratch, emptyDir: {medium: Memory, sizeLimit: 16Mi}}
    - {name: host, hostPath: {path: ${hostDir}, type: Directory}}
  containers:
    - name: main
      image: ${BB}
      imagePullPolicy: IfNotPresent
      command: ["sleep", "3600"]
      workingDir: /scratch
      ports: [{containerPort: 8080, hostPort: 0}]
      resources:
        requests: {cpu: 250m, memory: 32Mi}
        limits: {cpu: 500m, memory: 64Mi}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
      volumeMounts:
        - {name: scratch, mountPath: /scratch}
        - {name: host, mountPath: /host, readOnly: true}
    - name: peer
      image: ${BB}
      imagePullPolicy: IfNotPresent
      command: ["sleep", "3601"]
      securityContext: {runAsUser: 0}
`;
  const file = join(d.dir, 'specced.yaml');
  writeFileSync(file, yaml);
  await cliOk(['play', ...playFlags(d), '--wait', file]);
  const { items } = await d.cri.runtime.call<{ items: Message[] }>('ListPodSandbox', { filter: { label_selector: { 'io.kubernetes.pod.name': 'specced' } } });
  const pod = items[0]!;
  assert.equal((pod.labels as Record<string, string>).tier, 'demo', 'the pod\'s own labels are kept');
  const { containers } = await d.cri.runtime.call<{ containers: Message[] }>('ListContainers', { filter: { pod_sandbox_id: pod.id } });
  const byName = (n: string) => containers.find((c) => (c.labels as Record<string, string>)['io.kubernetes.container.name'] === n)!.id as string;
  const main = byName('main');
  const spec = await specOf(main);

  assert.equal(spec.linux.resources?.cpu?.shares, 256);
  assert.equal(spec.linux.resources?.cpu?.quota, 50_000);
  assert.equal(spec.linux.resources?.cpu?.period, 100_000);
  assert.equal(spec.linux.resources?.memory?.limit, 64 * 1024 * 1024);
  assert.deepEqual([spec.process.user.uid, spec.process.user.gid], [1000, 1000]);
  assert.equal(spec.process.noNewPrivileges, true);
  assert.deepEqual(spec.process.capabilities?.bounding, ['CAP_NET_BIND_SERVICE']);
  assert.equal(spec.root.readonly, true);
  assert.equal(spec.process.cwd, '/scratch');
  const hostMount = spec.mounts.find((m) => m.destination === '/host')!;
  assert.equal(hostMount.source, hostDir);
  assert.ok(hostMount.options?.includes('ro'));

  // Inside: the tmpfs emptyDir is writable by uid 1000, the hostPath is read-only, the root too.
  assert.equal((await exec(main, ['sh', '-c', 'echo hi > /scratch/f && cat /scratch/f'])).stdout, 'hi\n');
  assert.match((await exec(main, ['sh', '-c', 'grep " /scratch " /proc/mounts'])).stdout, /^tmpfs \/scratch tmpfs .*size=16384k/);
  assert.equal((await exec(main, ['cat', '/host/from-host'])).stdout, 'host file\n');
  assert.notEqual((await exec(main, ['sh', '-c', 'echo x > /host/new'])).exit_code, 0);
  assert.notEqual((await exec(main, ['sh', '-c', 'echo x > /rootfile'])).exit_code, 0);
  assert.equal((await exec(main, ['id', '-G'])).stdout.trim().split(' ').sort().join(' '), '1000 2000');

  // shareProcessNamespace: the peer's sleep is visible from main.
  assert.match((await exec(main, ['ps', '-o', 'args'])).stdout, /sleep 3601/);
  const peerSpec = await specOf(byName('peer'));
  assert.equal(peerSpec.process.user.uid, 0, 'a container\'s runAsUser overrides the pod\'s');

  const uid = (pod.labels as Record<string, string>)['io.kubernetes.pod.uid']!;
  const podDir = join(d.dir, 'play-pods', uid);
  assert.ok(readFileSync('/proc/self/mountinfo', 'utf8').includes(podDir));
  await cliOk(['play', ...playFlags(d), '--down', '--grace-period', '1', file]);
  assert.ok(!existsSync(podDir));
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(podDir), 'the tmpfs is unmounted');
  assert.ok(existsSync(join(hostDir, 'from-host')), 'a hostPath is the host\'s: left alone');
});

test('hostPort becomes a port mapping reachable on the node; hostNetwork pods share the node\'s network', async () => {
  const port = 30000 + (process.pid % 2000);
  const yaml = `
apiVersion: v1
kind: Pod
metadata: {name: hostport}
spec:
  containers:
    - name: web
      image: ${BB}
      imagePullPolicy: IfNotPresent
      command: ["sh", "-c", "echo mapped > /tmp/index.html; exec httpd -f -p 80 -h /tmp"]
      ports: [{containerPort: 80, hostPort: ${port}}]
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet}
spec:
  hostNetwork: true
  containers:
    - {name: c, image: ${BB}, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}
`;
  const file = join(d.dir, 'hostport.yaml');
  writeFileSync(file, yaml);
  const out = await cliOk(['play', ...playFlags(d), '--wait', file]);
  assert.match(out, /pod default\/hostnet: sandbox [0-9a-f]+ ready, IP \(host network\)/);
  const { items } = await d.cri.runtime.call<{ items: Message[] }>('ListPodSandbox', { filter: { label_selector: { 'io.kubernetes.pod.name': 'hostport' } } });
  const { status } = await d.cri.runtime.call<{ status: Message }>('PodSandboxStatus', { pod_sandbox_id: items[0]!.id, verbose: false });
  assert.ok((status.network as Message).ip);
  const hostnet = (await d.cri.runtime.call<{ items: Message[] }>('ListPodSandbox', { filter: { label_selector: { 'io.kubernetes.pod.name': 'hostnet' } } })).items[0]!;
  const { containers } = await d.cri.runtime.call<{ containers: Message[] }>('ListContainers', { filter: { pod_sandbox_id: hostnet.id } });
  const netSpec = await specOf(containers[0]!.id as string);
  assert.ok(!netSpec.linux.namespaces.some((n) => n.type === 'network'), 'no network namespace of its own');
  // The mapping reaches the pod through the node: portmap's DNAT on the test bridge's address.
  const gateway = TEST_SUBNET.replace(/\.0\/24$/, '.1');
  const res = await httpGetEventually(gateway, port);
  assert.equal(res.body, 'mapped\n');
  await cliOk(['play', ...playFlags(d), '--down', '--grace-period', '1', file]);
});
