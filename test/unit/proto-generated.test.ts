// The CRI proto and the TypeScript generated from it: src/gen must be exactly what
// `npm run gen` produces today, and proto/ must describe the CRI v1 wire format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { collect, criClientConstructors, criClients, criPackageDefinition, type Message } from '../client/cri.js';
import {
  ContainerEventResponse,
  ContainerEventType,
  ContainerState,
  ContainerStatusResponse,
  NamespaceMode,
  RunPodSandboxRequest,
  RuntimeServiceService,
  ImageServiceService,
  type RuntimeServiceServer,
} from '../../src/gen/runtime/v1/api.js';

// dist/test/unit/<this>.js -> repository root
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? path.join(rel, name) : name;
    if (statSync(path.join(dir, r)).isDirectory()) out.push(...listFiles(dir, r));
    else out.push(r);
  }
  return out;
}

test('src/gen is up to date with proto/ (run `npm run gen` if this fails)', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'cricket-gen-'));
  try {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'gen-proto.mjs'), tmp], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `gen-proto failed: ${r.stderr}`);
    const committed = path.join(root, 'src', 'gen');
    const expected = listFiles(tmp);
    assert.ok(expected.length > 0, 'generator wrote nothing');
    assert.deepEqual(listFiles(committed), expected, 'src/gen has missing or extra files');
    for (const f of expected) {
      const fresh = readFileSync(path.join(tmp, f), 'utf8');
      assert.ok(!fresh.includes(root) && !fresh.includes(tmp), `${f} contains a checkout-dependent path`);
      assert.ok(readFileSync(path.join(committed, f), 'utf8') === fresh, `src/gen/${f} is stale`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

// ---- the proto itself, seen through @grpc/proto-loader ----

interface FieldDesc {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface EnumDesc {
  name: string;
  value: { name: string; number: number }[];
}
interface MessageDesc {
  name: string;
  field: FieldDesc[];
  nestedType: MessageDesc[];
  enumType: EnumDesc[];
}

const def = criPackageDefinition();

function message(name: string): MessageDesc {
  const t = def[`runtime.v1.${name}`];
  assert.ok(t && 'format' in t && t.format === 'Protocol Buffer 3 DescriptorProto', `message ${name} missing`);
  return t.type as MessageDesc;
}

function fields(name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of message(name).field) out[f.name] = `${f.number} ${f.label.replace('LABEL_', '').toLowerCase()} ${f.typeName || f.type.replace('TYPE_', '').toLowerCase()}`;
  return out;
}

function service(name: string): protoLoader.ServiceDefinition {
  const s = def[`runtime.v1.${name}`];
  assert.ok(s && !('format' in s), `service ${name} missing`);
  return s as protoLoader.ServiceDefinition;
}

const RUNTIME_METHODS = [
  'Version', 'RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'PodSandboxStatus', 'ListPodSandbox',
  'StreamPodSandboxes', 'CreateContainer', 'StartContainer', 'StopContainer', 'RemoveContainer', 'ListContainers',
  'StreamContainers', 'ContainerStatus', 'UpdateContainerResources', 'ReopenContainerLog', 'ExecSync', 'Exec',
  'Attach', 'PortForward', 'ContainerStats', 'ListContainerStats', 'StreamContainerStats', 'PodSandboxStats',
  'ListPodSandboxStats', 'StreamPodSandboxStats', 'UpdateRuntimeConfig', 'Status', 'CheckpointContainer',
  'GetContainerEvents', 'ListMetricDescriptors', 'ListPodSandboxMetrics', 'StreamPodSandboxMetrics',
  'RuntimeConfig', 'UpdatePodSandboxResources',
];
const RUNTIME_STREAMING = [
  'StreamPodSandboxes', 'StreamContainers', 'StreamContainerStats', 'StreamPodSandboxStats',
  'GetContainerEvents', 'StreamPodSandboxMetrics',
];
const IMAGE_METHODS = ['ListImages', 'StreamImages', 'ImageStatus', 'PullImage', 'RemoveImage', 'ImageFsInfo'];

test('both services exist with every CRI v1 method, streaming where upstream streams', () => {
  const rt = service('RuntimeService');
  assert.deepEqual(Object.keys(rt), RUNTIME_METHODS);
  assert.equal(Object.keys(rt).length, 35);
  for (const [name, m] of Object.entries(rt)) {
    assert.equal(m.path, `/runtime.v1.RuntimeService/${name}`);
    assert.equal(m.requestStream, false, name);
    assert.equal(m.responseStream, RUNTIME_STREAMING.includes(name), name);
  }
  assert.equal((rt['GetContainerEvents']?.requestType.type as MessageDesc).name, 'GetEventsRequest');
  assert.equal((rt['GetContainerEvents']?.responseType.type as MessageDesc).name, 'ContainerEventResponse');

  const img = service('ImageService');
  assert.deepEqual(Object.keys(img), IMAGE_METHODS);
  for (const [name, m] of Object.entries(img)) {
    assert.equal(m.path, `/runtime.v1.ImageService/${name}`);
    assert.equal(m.responseStream, name === 'StreamImages', name);
  }

  // the test client sees the same services
  const ctors = criClientConstructors();
  assert.equal(Object.keys(ctors.RuntimeService.service).length, 35);
  assert.equal(Object.keys(ctors.ImageService.service).length, 6);
});

test('key messages have the upstream field names and numbers', () => {
  assert.deepEqual(fields('RunPodSandboxRequest'), {
    config: '1 optional PodSandboxConfig',
    runtime_handler: '2 optional string',
  });
  assert.deepEqual(fields('PodSandboxConfig'), {
    metadata: '1 optional PodSandboxMetadata',
    hostname: '2 optional string',
    log_directory: '3 optional string',
    dns_config: '4 optional DNSConfig',
    port_mappings: '5 repeated PortMapping',
    labels: '6 repeated Labels',
    annotations: '7 repeated Annotations',
    linux: '8 optional LinuxPodSandboxConfig',
    windows: '9 optional WindowsPodSandboxConfig',
  });
  assert.deepEqual(fields('ContainerStatus'), {
    id: '1 optional string',
    metadata: '2 optional ContainerMetadata',
    state: '3 optional ContainerState',
    created_at: '4 optional int64',
    started_at: '5 optional int64',
    finished_at: '6 optional int64',
    exit_code: '7 optional int32',
    image: '8 optional ImageSpec',
    image_ref: '9 optional string',
    reason: '10 optional string',
    message: '11 optional string',
    labels: '12 repeated Labels',
    annotations: '13 repeated Annotations',
    mounts: '14 repeated Mount',
    log_path: '15 optional string',
    resources: '16 optional ContainerResources',
    image_id: '17 optional string',
    user: '18 optional ContainerUser',
    stop_signal: '19 optional Signal',
  });
  const cc = fields('ContainerConfig');
  assert.equal(cc['log_path'], '11 optional string');
  assert.equal(cc['CDI_devices'], '17 repeated CDIDevice');
  assert.equal(cc['stop_signal'], '18 optional Signal');
  const sc = fields('LinuxContainerSecurityContext');
  assert.equal(sc['run_as_group'], '12 optional Int64Value');
  assert.equal(sc['supplemental_groups_policy'], '17 optional SupplementalGroupsPolicy');
  assert.equal(fields('LinuxContainerResources')['memory_swap_limit_in_bytes'], '10 optional int64');
  assert.equal(fields('ImageSpec')['image_ref'], '20 optional string');
  assert.equal(fields('Mount')['image_sub_path'], '10 optional string');
  assert.equal(fields('PodSandboxStatusResponse')['timestamp'], '4 optional int64');
  assert.equal(fields('ContainerEventResponse')['containers_statuses'], '5 repeated ContainerStatus');
  assert.equal(fields('AuthConfig')['registry_token'], '6 optional string');
  assert.equal(fields('RuntimeFeatures')['user_namespaces_host_network'], '2 optional bool');
  assert.equal(fields('UpdatePodSandboxResourcesRequest')['resources'], '3 optional LinuxContainerResources');

  const profile = message('SecurityProfile').enumType.find((e) => e.name === 'ProfileType');
  assert.deepEqual(profile?.value.map((v) => `${v.name}=${v.number}`), ['RuntimeDefault=0', 'Unconfined=1', 'Localhost=2']);
});

// Fingerprint of every message field, enum value and RPC, as proto-loader sees them. It was computed from
// kubernetes/cri-api v0.36.3 pkg/apis/runtime/v1/api.proto and matched by ours; any edit to the proto
// that changes a name, number, type or RPC changes it. Update it only when moving to a newer cri-api.
const SCHEMA_FINGERPRINT = 'c4f5d42197e2e0a6261b2074dd09753dc1eb3386faa3944dd67379fbdfd77e8a';

function schemaLines(): string[] {
  const lines: string[] = [];
  const walkMessage = (prefix: string, m: MessageDesc): void => {
    if (m.field.length === 0) lines.push(`${prefix} {}`);
    for (const f of m.field) lines.push(`${prefix}.${f.name}=${f.number} ${f.label} ${f.type} ${f.typeName}`);
    for (const e of m.enumType) for (const v of e.value) lines.push(`${prefix}.${e.name}.${v.name}=${v.number}`);
    for (const n of m.nestedType) walkMessage(`${prefix}.${n.name}`, n);
  };
  for (const key of Object.keys(def).sort()) {
    const v = def[key];
    if (v === undefined) continue;
    if ('format' in v) {
      if (v.format === 'Protocol Buffer 3 DescriptorProto') walkMessage(key, v.type as MessageDesc);
      else for (const e of (v.type as EnumDesc).value) lines.push(`${key}.${e.name}=${e.number}`);
    } else {
      for (const [name, m] of Object.entries(v as protoLoader.ServiceDefinition)) {
        const req = (m.requestType.type as MessageDesc).name;
        const res = (m.responseType.type as MessageDesc).name;
        lines.push(`${key}/${name}(${m.requestStream ? 'stream ' : ''}${req}) ${m.responseStream ? 'stream ' : ''}${res}`);
      }
    }
  }
  return lines;
}

test('the whole schema matches the tracked cri-api release', () => {
  const lines = schemaLines();
  const digest = createHash('sha256').update(lines.join('\n')).digest('hex');
  assert.equal(digest, SCHEMA_FINGERPRINT, `schema changed (${lines.length} lines); see the comment above SCHEMA_FINGERPRINT`);
});

// ---- the generated code and proto-loader agree on the wire ----

test('generated code and proto-loader interoperate on the wire', () => {
  const rt = service('RuntimeService');
  const runDef = rt['RunPodSandbox'];
  assert.ok(runDef);
  const wire = runDef.requestSerialize({
    config: {
      metadata: { name: 'nginx', uid: 'u-1', namespace: 'default', attempt: 2 },
      hostname: 'nginx',
      labels: { app: 'web' },
      linux: { security_context: { namespace_options: { pid: 'CONTAINER', network: 'NODE' } } },
    },
    runtime_handler: 'runc',
  } satisfies Message);
  const decoded = RunPodSandboxRequest.decode(wire);
  assert.equal(decoded.runtimeHandler, 'runc');
  assert.equal(decoded.config?.metadata?.name, 'nginx');
  assert.equal(decoded.config?.metadata?.attempt, 2);
  assert.deepEqual(decoded.config?.labels, { app: 'web' });
  assert.equal(decoded.config?.linux?.securityContext?.namespaceOptions?.pid, NamespaceMode.CONTAINER);
  assert.equal(decoded.config?.linux?.securityContext?.namespaceOptions?.network, NamespaceMode.NODE);

  const statusDef = rt['ContainerStatus'];
  assert.ok(statusDef);
  const created = 1_700_000_000_123_456_789n; // > 2^53: must survive as int64
  const res = ContainerStatusResponse.create({
    status: { id: 'c1', state: ContainerState.CONTAINER_EXITED, createdAt: created, exitCode: -1, labels: { a: 'b' } },
    info: { k: 'v' },
  });
  const back = statusDef.responseDeserialize(Buffer.from(ContainerStatusResponse.encode(res).finish())) as Message;
  const st = back['status'] as Message;
  assert.equal(st['id'], 'c1');
  assert.equal(st['state'], 'CONTAINER_EXITED');
  assert.equal(st['created_at'], created.toString());
  assert.equal(st['exit_code'], -1);
  assert.equal(st['finished_at'], '0');
  assert.deepEqual(st['labels'], { a: 'b' });
  assert.deepEqual(back['info'], { k: 'v' });

  // grpc-js service definitions are exported for both services under the expected names
  assert.equal(RuntimeServiceService.runPodSandbox.path, '/runtime.v1.RuntimeService/RunPodSandbox');
  assert.equal(RuntimeServiceService.getContainerEvents.responseStream, true);
  assert.equal(Object.keys(RuntimeServiceService).length, 35);
  assert.equal(Object.keys(ImageServiceService).length, 6);
});

test('a server built on the generated definitions answers the proto-loader client over a unix socket', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cricket-sock-'));
  const socket = path.join(dir, 'cri.sock');
  const server = new grpc.Server();
  const unimplemented = (): { code: number; details: string } => ({ code: grpc.status.UNIMPLEMENTED, details: 'no' });
  const impl: Partial<RuntimeServiceServer> = {
    version: (call, cb) => cb(null, { version: call.request.version, runtimeName: 'cricket', runtimeVersion: '0.1.0', runtimeApiVersion: 'v1' }),
    runPodSandbox: (call, cb) => {
      if (!call.request.config?.metadata?.name) return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'metadata.name required' });
      cb(null, { podSandboxId: `sb-${call.request.config.metadata.name}` });
    },
    getContainerEvents: (call) => {
      call.write(ContainerEventResponse.create({ containerId: 'c1', containerEventType: ContainerEventType.CONTAINER_STARTED_EVENT, createdAt: 5n }));
      call.end();
    },
  };
  const handlers: Record<string, unknown> = {};
  for (const name of Object.keys(RuntimeServiceService)) {
    handlers[name] = (impl as Record<string, unknown>)[name] ?? ((_: unknown, cb: (e: unknown) => void) => cb(unimplemented()));
  }
  server.addService(RuntimeServiceService, handlers as unknown as RuntimeServiceServer);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  const cri = criClients(socket, { deadlineMs: 10_000 });
  try {
    assert.deepEqual(await cri.runtime.call('Version', { version: 'v1' }), {
      version: 'v1', runtime_name: 'cricket', runtime_version: '0.1.0', runtime_api_version: 'v1',
    });
    const run = await cri.runtime.call<{ pod_sandbox_id: string }>('RunPodSandbox', { config: { metadata: { name: 'p' } } });
    assert.equal(run.pod_sandbox_id, 'sb-p');
    await assert.rejects(cri.runtime.call('RunPodSandbox', {}), (e: unknown) => (e as { code?: number }).code === grpc.status.INVALID_ARGUMENT);
    await assert.rejects(cri.runtime.call('Status', {}), (e: unknown) => (e as { code?: number }).code === grpc.status.UNIMPLEMENTED);
    await assert.rejects(cri.runtime.call('NoSuchMethod'), /has no method NoSuchMethod/);
    const events = await collect(cri.runtime.stream('GetContainerEvents', {}));
    assert.equal(events.length, 1);
    assert.equal(events[0]?.['container_event_type'], 'CONTAINER_STARTED_EVENT');
    assert.equal(events[0]?.['created_at'], '5');
  } finally {
    cri.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});
