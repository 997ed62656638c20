// `[cni] conf_template` through the daemon: not ready until kubelet's UpdateRuntimeConfig brings
// the pod CIDR, then the rendered network is the one pods join; a bad CIDR changes nothing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { ipReservations, TEST_BRIDGE, TEST_PREFIX, TEST_SUBNET, useCricket } from '../harness/cricket.js';
import { podConfig, runPod } from '../harness/pods.js';

// The template and host-local's reservations live beside the daemon, under the slot's prefix.
const tplDir = mkdtempSync(TEST_PREFIX);
const dataDir = join(tplDir, 'ipam');
const templateFile = join(tplDir, 'net.conflist.tmpl');
writeFileSync(
  templateFile,
  `{{- /* the node's network, rendered once its pod CIDR is known */ -}}
{
  "cniVersion": "1.0.0",
  "name": "from-template",
  "plugins": [
    { "type": "bridge", "bridge": "${TEST_BRIDGE}", "isGateway": true, "ipMasq": false,
      "ipam": { "type": "host-local", "dataDir": "${dataDir}",
        "ranges": [{{range $i, $r := .PodCIDRRanges}}{{if $i}}, {{end}}[{"subnet": "{{$r}}"}]{{end}}],
        "routes": [{{range $i, $r := .Routes}}{{if $i}}, {{end}}{"dst": "{{$r}}"}{{end}}] } },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "loopback" }
  ]
}
`,
);
const d = useCricket({ configToml: `[cni]\nconf_template = "${templateFile}"\n` });
// After the daemon's own teardown (hooks run in the order they are added), whose CNI DEL still
// writes to host-local's directory here.
after(() => rmSync(tplDir, { recursive: true, force: true }));

/** The test slot's own subnet, the one its bridge always carries. */
const SUBNET = TEST_SUBNET;

type Condition = { type: string; status: boolean; reason: string; message: string };
async function networkReady(): Promise<Condition> {
  const { status } = await d.cri.runtime.call<{ status: { conditions: Condition[] } }>('Status', {});
  return status.conditions.find((c) => c.type === 'NetworkReady')!;
}

test('before kubelet sends the pod CIDR the network is not ready, and says why', async () => {
  const ready = await networkReady();
  assert.equal(ready.status, false);
  assert.match(ready.message, /no pod CIDR yet/);
  assert.match(ready.message, new RegExp(templateFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  await assert.rejects(runPod(d, podConfig(d, 'too-early')), { code: grpcStatus.FAILED_PRECONDITION });
});

test('a malformed pod CIDR is refused and renders nothing', async () => {
  await assert.rejects(
    d.cri.runtime.call('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: '10.99.1.7/24' } } }),
    { code: grpcStatus.INVALID_ARGUMENT },
  );
  assert.ok(!existsSync(join(d.dir, 'net.d', '10-cricket-net.conflist')));
  assert.equal((await networkReady()).status, false);
});

test('UpdateRuntimeConfig renders the template into the conf dir; pods then join that network', async () => {
  await d.cri.runtime.call('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: SUBNET } } });
  const rendered = JSON.parse(readFileSync(join(d.dir, 'net.d', '10-cricket-net.conflist'), 'utf8')) as {
    name: string;
    plugins: Array<{ ipam?: { ranges: unknown; routes: unknown } }>;
  };
  assert.equal(rendered.name, 'from-template');
  assert.deepEqual(rendered.plugins[0]!.ipam!.ranges, [[{ subnet: SUBNET }]]);
  assert.deepEqual(rendered.plugins[0]!.ipam!.routes, [{ dst: '0.0.0.0/0' }]);
  assert.deepEqual(await networkReady(), { type: 'NetworkReady', status: true, reason: '', message: '' });
  const pod = await runPod(d, podConfig(d, 'templated'));
  assert.ok(pod.ip.startsWith(SUBNET.replace(/0\/24$/, '')), `pod IP ${pod.ip} in ${SUBNET}`);
  assert.equal(ipReservations(dataDir).length, 1, 'host-local of the rendered config reserved the IP');
  await d.cri.runtime.call('StopPodSandbox', { pod_sandbox_id: pod.id });
  await d.cri.runtime.call('RemovePodSandbox', { pod_sandbox_id: pod.id });
  assert.deepEqual(ipReservations(dataDir), []);
});
