import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManifestError, parseManifest } from '../../src/cli/play/manifest.js';
import { containerResources, milliCpuToShares, qosClass } from '../../src/cli/play/resources.js';
import { parseQuantity } from '../../src/cli/play/quantity.js';
import { expand } from '../../src/cli/play/cri-requests.js';
import { pullPolicy } from '../../src/cli/play/images.js';
import { Backoff } from '../../src/cli/play/backoff.js';

const pod = (spec: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n${spec}`;

function issues(text: string): string[] {
  try {
    parseManifest(text, 'f.yaml');
  } catch (err) {
    assert.ok(err instanceof ManifestError);
    return err.issues.map((i) => `${i.line} ${i.path}: ${i.message}`);
  }
  return [];
}

test('quantities: millicores, binary and decimal suffixes, exponents', () => {
  assert.equal(parseQuantity('100m'), 0.1);
  assert.equal(parseQuantity('64Mi'), 64 * 1024 * 1024);
  assert.equal(parseQuantity('1G'), 1e9);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity(2), 2);
  assert.throws(() => parseQuantity('12 apples'));
  assert.throws(() => parseQuantity('-1'));
});

test('resources as kubelet computes them: shares, quota, memory, QoS', () => {
  const c = { name: 'a', resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } } };
  assert.equal(qosClass([c]), 'Burstable');
  const r = containerResources(c, 'Burstable', 1024 * 1024 * 1024);
  assert.deepEqual(r, { cpuShares: 256, cpuPeriod: 100000, cpuQuota: 50000, memoryLimitInBytes: 128 * 1024 * 1024, oomScoreAdj: 938 });
  const g = { name: 'g', resources: { limits: { cpu: '1', memory: '1Gi' } } };
  assert.equal(qosClass([g]), 'Guaranteed');
  assert.equal(containerResources(g, 'Guaranteed').cpuShares, 1024, 'a limit alone is also the request');
  assert.equal(containerResources(g, 'Guaranteed').oomScoreAdj, -997);
  assert.equal(qosClass([{ name: 'b' }]), 'BestEffort');
  assert.deepEqual(containerResources({ name: 'b' }, 'BestEffort'), { cpuShares: 2, cpuPeriod: 0, cpuQuota: 0, memoryLimitInBytes: 0, oomScoreAdj: 1000 });
  assert.equal(milliCpuToShares(1), 2);
  assert.equal(containerResources({ name: 'q', resources: { limits: { cpu: '1m' } } }, 'Burstable').cpuQuota, 1000, 'kubelet\'s minimum quota');
});

test('a manifest\'s pods, configMaps and secrets; namespace defaults to "default"', () => {
  const m = parseManifest(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: ${Buffer.from('x').toString('base64')}}\n---\n${pod('  containers: [{name: a, image: i}]\n')}`, 'f.yaml');
  assert.equal(m.pods.length, 1);
  assert.equal(m.pods[0]!.pod.metadata.namespace, 'default');
  assert.equal(m.configMaps.get('default/c')?.data?.k, 'v');
  assert.equal(m.secrets.get('default/s')?.get('k')?.toString(), 'x');
});

test('errors name the field path and line; ignored fields are warnings, not silence', () => {
  assert.deepEqual(issues(pod('  containers:\n    - name: a\n      image: i\n      resources: {limits: {cpu: [1]}}\n')), ['9 spec.containers[0].resources.limits.cpu: must be a quantity such as 100m or 64Mi, not a list']);
  assert.deepEqual(issues(pod('  containers:\n    - name: a\n      image: i\n      envFrom: []\n')), ['9 spec.containers[0].envFrom: not supported: envFrom is not supported; list the variables under env']);
  assert.deepEqual(issues(pod('  containers:\n    - name: a\n      image: i\n      volumeMounts: [{name: nope, mountPath: /x}]\n')), ['9 spec.containers[0].volumeMounts[0].name: no volume named "nope" in spec.volumes']);
  assert.deepEqual(issues(pod('  restartPolicy: Sometimes\n  containers: [{name: a, image: i}]\n')), ['6 spec.restartPolicy: must be one of Always, OnFailure, Never, not string "Sometimes"']);
  assert.deepEqual(issues(pod('  containers: [{name: a, image: i}, {name: a, image: i}]\n')), ['6 spec.containers[1].name: container "a" is defined twice']);
  assert.deepEqual(issues('kind: Service\nmetadata: {name: s}\n'), ['1 kind: kind "Service" is not supported (Pod, ConfigMap and Secret are)']);
  assert.match(issues('kind: Pod\nmetadata: {name: [\n')[0]!, /^3 : Flow sequence .* must be sufficiently indented/, 'YAML syntax errors carry their line');
  assert.deepEqual(issues(pod('  containers:\n    - name: a\n      image: i\n      resources: {limits: {nvidia.com/gpu: 1, memory: 12 apples}}\n')), [
    '9 spec.containers[0].resources.limits.nvidia.com/gpu: resource "nvidia.com/gpu" is not supported (cpu and memory are)',
    '9 spec.containers[0].resources.limits.memory: "12 apples" is not a quantity (such as 500m, 2, 128Mi, 1G)',
  ]);
  const m = parseManifest(pod('  nodeName: n1\n  containers: [{name: a, image: i}]\n'), 'f.yaml');
  assert.deepEqual(m.warnings.map((w) => `${w.line} ${w.path}: ${w.message}`), ['6 spec.nodeName: ignored: there is no scheduler: the pod runs on this node']);
});

test('$(VAR) expansion, pull policy defaults, back-off doubling to its cap', () => {
  assert.equal(expand('$(A)-$(B)-$$(A)-$(C)', new Map([['A', '1'], ['B', '2']])), '1-2-$(A)-$(C)');
  assert.equal(pullPolicy({ name: 'a', image: 'busybox' }), 'Always');
  assert.equal(pullPolicy({ name: 'a', image: 'busybox:latest' }), 'Always');
  assert.equal(pullPolicy({ name: 'a', image: 'registry:5000/busybox:1.36' }), 'IfNotPresent');
  assert.equal(pullPolicy({ name: 'a', image: 'busybox:1.36', imagePullPolicy: 'Never' }), 'Never');
  const b = new Backoff(10_000, 300_000);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(() => b.next('c', 1000)), [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  assert.equal(b.next('c', 700_000), 10_000, 'a long run starts the back-off over');
});
