// Runtime handler configuration, the reading of `<runtime> features`, and the rules of
// recursive read-only mounts: pure logic, no runtime started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { MountPropagation } from '../../src/gen/runtime/v1/api.js';
import { kernelHasMountSetattr, parseFeatures } from '../../src/oci/runtime-features.js';
import { Runc } from '../../src/oci/runc.js';
import { RuntimeRegistry } from '../../src/oci/runtimes.js';
import { applyRecursiveReadonly } from '../../src/oci/spec/recursive-readonly.js';
import type { OciSpec } from '../../src/oci/spec-types.js';
import type { ContainerMount } from '../../src/store/types.js';

function withConfig(toml: string, fn: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'cricket-unit-runtimes-'));
  try {
    const file = join(dir, 'config.toml');
    writeFileSync(file, toml);
    fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('[runtimes.NAME] tables are read with their defaults', () => {
  withConfig('[runtimes.crun]\nbinary = "/usr/bin/crun"\n[runtimes.fast]\nroot = "/run/fast"\ntype = "oci"\n[runtimes.fast.options]\nsystemd_cgroup = false\n', (file) => {
    assert.deepEqual(loadConfig({ config: file }).runtimes, {
      crun: { binary: '/usr/bin/crun', root: '', type: 'oci', options: { systemdCgroup: false } },
      fast: { binary: 'fast', root: '/run/fast', type: 'oci', options: { systemdCgroup: false } },
    });
  });
  assert.deepEqual(loadConfig({ config: '/dev/null' }).runtimes, {});
});

test('bad [runtimes] tables are refused with the key that is wrong', () => {
  const cases: [string, RegExp][] = [
    ['[runtimes.crun]\ntype = "vm"\n', /runtimes\.crun\.type "vm" is not supported/],
    ['[runtimes.crun]\nbinary = 3\n', /runtimes\.crun\.binary must be a string/],
    ['[runtimes.crun]\nroot = "relative"\n', /absolute path/],
    ['[runtimes.crun]\nflavour = "x"\n', /unknown key flavour/],
    ['[runtimes.crun.options]\nsystemd_cgroup = true\n', /systemd_cgroup = true is not supported/],
    ['[runtimes.crun.options]\nshim = "v2"\n', /unknown option shim/],
    ['[runtimes.Bad_Name]\n', /DNS label/],
    ['runtimes = 3\n', /runtimes must be a table/],
  ];
  for (const [toml, pattern] of cases) withConfig(toml, (file) => assert.throws(() => loadConfig({ config: file }), pattern, toml));
});

test('features: rro needs the runtime option and the kernel; user namespaces need idmapped mounts', () => {
  const doc = (extra: object) => JSON.stringify({ mountOptions: ['ro', 'rro'], linux: { namespaces: ['user', 'net'] }, ...extra });
  assert.equal(parseFeatures(doc({}), true).recursiveReadOnlyMounts, true);
  assert.equal(parseFeatures(doc({}), false).recursiveReadOnlyMounts, false);
  assert.equal(parseFeatures(JSON.stringify({ mountOptions: ['ro'] }), true).recursiveReadOnlyMounts, false);
  assert.equal(parseFeatures(doc({}), true).userNamespaces, false);
  assert.equal(parseFeatures(doc({ linux: { namespaces: ['user'], mountExtensions: { idmap: { enabled: true } } } }), true).userNamespaces, true);
  assert.equal(parseFeatures(doc({ linux: { namespaces: ['net'], mountExtensions: { idmap: { enabled: true } } } }), true).userNamespaces, false);
  for (const output of [undefined, 'not json', '[]', '{"mountOptions": "rro"}', `{"mountOptions":["rro"],"pad":"${'x'.repeat(1 << 20)}"}`]) {
    const f = parseFeatures(output, true);
    assert.deepEqual([f.recursiveReadOnlyMounts, f.userNamespaces], [false, false], String(output).slice(0, 40));
    assert.ok(f.notes.length > 0);
  }
  assert.equal(kernelHasMountSetattr('5.11.22'), false);
  assert.equal(kernelHasMountSetattr('5.12.0-1-amd64'), true);
  assert.equal(kernelHasMountSetattr('6.1.0'), true);
  assert.equal(kernelHasMountSetattr('garbage'), false);
});

test('the registry maps "" to runc, refuses unknown handlers and pods of unconfigured ones', () => {
  const runc = new Runc('/usr/sbin/runc', '/run/x/runc', 1000, 'runc');
  const crun = new Runc('/usr/bin/crun', '/run/x/runtimes/crun', 1000, 'crun');
  const registry = new RuntimeRegistry([runc, crun]);
  assert.deepEqual(registry.names(), ['', 'runc', 'crun']);
  assert.equal(registry.forHandler(''), runc);
  assert.equal(registry.forHandler('crun'), crun);
  assert.throws(() => registry.forHandler('kata'), (err: { kind: string; message: string }) => err.kind === 'invalid-argument' && /"kata"/.test(err.message));
  assert.equal(registry.forSandbox({ id: 'p', runtimeHandler: 'crun' }), crun);
  assert.throws(() => registry.forSandbox({ id: 'p', runtimeHandler: 'gone' }), (err: { kind: string }) => err.kind === 'failed-precondition');
  assert.throws(() => new RuntimeRegistry([crun]), /runc runtime handler is missing/);
});

const mount = (extra: Partial<ContainerMount>): ContainerMount => ({
  containerPath: '/data', hostPath: '/host', readonly: true, propagation: MountPropagation.PROPAGATION_PRIVATE, selinuxRelabel: false, recursiveReadOnly: true, ...extra,
});
const specWith = (options: string[]): OciSpec => ({ mounts: [{ destination: '/data', type: 'bind', source: '/host', options }, { destination: '/other', type: 'bind', source: '/o', options: ['rbind', 'ro'] }] }) as unknown as OciSpec;
const able = { handler: 'runc', features: { recursiveReadOnlyMounts: true, notes: [] as string[] } };

test('recursive read-only: rro beside ro on the requested mounts only, and the kubelet rules', () => {
  const spec = specWith(['rbind', 'rprivate', 'ro']);
  applyRecursiveReadonly(spec, [mount({})], able);
  assert.deepEqual(spec.mounts[0]!.options, ['rbind', 'rprivate', 'ro', 'rro']);
  assert.deepEqual(spec.mounts[1]!.options, ['rbind', 'ro']);
  const untouched = specWith(['rbind', 'rprivate', 'ro']);
  applyRecursiveReadonly(untouched, [mount({ recursiveReadOnly: false })], able);
  assert.deepEqual(untouched.mounts[0]!.options, ['rbind', 'rprivate', 'ro']);

  const refused = (m: ContainerMount, runtime = able) => () => applyRecursiveReadonly(specWith(['rbind', 'ro']), [m], runtime);
  assert.throws(refused(mount({ readonly: false })), /needs readonly/);
  assert.throws(refused(mount({ propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER })), /private propagation/);
  assert.throws(refused(mount({ propagation: MountPropagation.PROPAGATION_BIDIRECTIONAL })), /private propagation/);
  assert.throws(refused(mount({}), { handler: 'crun', features: { recursiveReadOnlyMounts: false, notes: ['the runtime has no `features` command'] } }),
    (err: { kind: string; message: string }) => err.kind === 'invalid-argument' && /handler "crun"/.test(err.message) && /features/.test(err.message));
});

test('features: only a runtime that names itself runc 1.x is started through its exec fifo', () => {
  const runc = (version: unknown) => JSON.stringify({ annotations: { 'org.opencontainers.runc.version': version } });
  assert.equal(parseFeatures(runc('1.1.5+ds1'), true).execFifoStart, true);
  // runc 1.x's state.json is what a stopped container is deleted from without runc.
  assert.equal(parseFeatures(runc('1.1.5+ds1'), true).deletesStoppedDirectly, true);
  assert.equal(parseFeatures(runc('2.0.0'), true).deletesStoppedDirectly, false);
  // runc 1.x decodes config.json once, as `runc create` begins: it can wait for it on a pipe.
  assert.equal(parseFeatures(runc('1.1.5+ds1'), true).readsSpecOnce, true);
  assert.equal(parseFeatures(runc('2.0.0'), true).readsSpecOnce, false);
  assert.equal(parseFeatures(JSON.stringify({ annotations: { 'io.github.containers.crun.version': '1.9' } }), true).readsSpecOnce, false);
  assert.equal(parseFeatures(JSON.stringify({ annotations: { 'io.github.containers.crun.version': '1.9' } }), true).deletesStoppedDirectly, false);
  assert.equal(parseFeatures(runc('1.2.0-rc.1'), true).execFifoStart, true);
  assert.equal(parseFeatures(runc('2.0.0'), true).execFifoStart, false);
  assert.equal(parseFeatures(runc(1), true).execFifoStart, false);
  assert.equal(parseFeatures(JSON.stringify({ annotations: ['org.opencontainers.runc.version'] }), true).execFifoStart, false);
  assert.equal(parseFeatures(JSON.stringify({ annotations: { 'io.github.containers.crun.version': '1.9' } }), true).execFifoStart, false);
  // crun 1.8 has no features command at all.
  assert.equal(parseFeatures(undefined, true).execFifoStart, false);
});

test('features: runc 1.0 and 1.1 copy themselves at each container start; later runc and other runtimes do not', () => {
  const runc = (version: unknown) => JSON.stringify({ annotations: { 'org.opencontainers.runc.version': version } });
  assert.equal(parseFeatures(runc('1.1.5+ds1'), true).copiesItselfAtInit, true);
  assert.equal(parseFeatures(runc('1.0.3'), true).copiesItselfAtInit, true);
  assert.equal(parseFeatures(runc('1.2.0'), true).copiesItselfAtInit, false);
  assert.equal(parseFeatures(runc('1.10.0'), true).copiesItselfAtInit, false);
  assert.equal(parseFeatures(JSON.stringify({ annotations: { 'io.github.containers.crun.version': '1.1.0' } }), true).copiesItselfAtInit, false);
  assert.equal(parseFeatures(undefined, true).copiesItselfAtInit, false);
});
