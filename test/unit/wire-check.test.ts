// The wire check accepts every faithful encoding of a request and refuses the rest with
// INVALID_ARGUMENT, never another error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CricketError } from '../../src/errors.js';
import { type ContainerState, ListContainersRequest, PortForwardRequest, RunPodSandboxRequest, StopContainerRequest, VersionRequest } from '../../src/gen/runtime/v1/api.js';
import { criSchema } from '../../src/server/proto-schema.js';
import { checkWire } from '../../src/server/wire-check.js';

const schema = (method: string) => criSchema().services.get('runtime.v1.RuntimeService')!.get(method)!;
const refused = (bytes: Uint8Array, method: string, pattern: RegExp) =>
  assert.throws(() => checkWire(bytes, schema(method)), (err: unknown) => err instanceof CricketError && err.kind === 'invalid-argument' && pattern.test(err.message));

test('the schema read from proto/ has every service method and message', () => {
  const services = criSchema().services;
  assert.equal(services.get('runtime.v1.RuntimeService')!.size, 35);
  assert.equal(services.get('runtime.v1.ImageService')!.size, 6);
  assert.equal(schema('RunPodSandbox').name, 'runtime.v1.RunPodSandboxRequest');
});

test('faithful encodings pass, negative int64 and packed repeated fields included', () => {
  const pod = RunPodSandboxRequest.encode(RunPodSandboxRequest.fromPartial({
    config: {
      metadata: { name: 'a', namespace: 'b', uid: 'c', attempt: 3 },
      labels: { a: 'b', 'ü': 'ß' },
      portMappings: [{ protocol: 2, containerPort: 80, hostPort: 0 }],
      linux: { securityContext: { runAsUser: { value: -7n }, supplementalGroups: [1n, 2n, -(2n ** 53n) + 1n] } },
    },
  })).finish();
  checkWire(pod, schema('RunPodSandbox'));
  checkWire(StopContainerRequest.encode({ containerId: 'x', timeout: 2n ** 53n - 1n }).finish(), schema('StopContainer'));
  checkWire(PortForwardRequest.encode({ podSandboxId: 'p', port: [1, 2, 65535] }).finish(), schema('PortForward'));
  // Unpacked repeated int32 is valid too.
  checkWire(Buffer.from([0x10, 0x01, 0x10, 0x02]), schema('PortForward'));
  // Unknown fields of every wire type.
  checkWire(Buffer.from([0xa0, 0x06, 0x05, 0xa1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0xa2, 0x06, 0x01, 0x61, 0xa5, 0x06, 1, 2, 3, 4]), schema('Version'));
  checkWire(new Uint8Array(), schema('Version'));
});

test('damaged encodings are refused with the field they concern', () => {
  refused(Buffer.from([0x0a, 0x05, 0x61]), 'Version', /version: length runs past/);
  refused(Buffer.from([0x08, 0x01]), 'RunPodSandbox', /config: wire type 0, expected 2/);
  refused(Buffer.from([0x0a, 0x02, 0x00, 0x00]), 'RunPodSandbox', /config: invalid field number/);
  refused(Buffer.from([0x0b]), 'Version', /wire type 3/);
  refused(Buffer.from([0x0a, 0x01, 0xff]), 'Version', /not valid UTF-8/);
  refused(Buffer.from([0x80]), 'Version', /truncated varint/);
  refused(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), 'StopContainer', /varint longer than 64 bits/);
  refused(StopContainerRequest.encode({ containerId: 'x', timeout: 2n ** 53n }).finish(), 'StopContainer', /beyond 2\^53-1/);
  refused(StopContainerRequest.encode({ containerId: 'x', timeout: -(2n ** 53n) }).finish(), 'StopContainer', /beyond 2\^53-1/);
  refused(ListContainersRequest.encode({ filter: { id: '', podSandboxId: '', labelSelector: {}, state: { state: 9 as ContainerState } } }).finish(), 'ListContainers', /filter\.state\.state: 9 is not a known/);
  refused(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x80, 0x10]), 'PortForward', /does not fit int32/);
  const pod = RunPodSandboxRequest.encode(RunPodSandboxRequest.fromPartial({ config: { hostname: 'h' } })).finish();
  refused(Buffer.concat([pod, pod]), 'RunPodSandbox', /config: given twice/);
  refused(Buffer.from([0x0a, 0x0f, 0x32, 0x0d, 0x0a, 0x09, ...Buffer.from('__proto__'), 0x12, 0x00]), 'RunPodSandbox', /__proto__/);
});

test('random bytes never escape as anything but INVALID_ARGUMENT', () => {
  let seed = 12345;
  const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const methods = [...criSchema().services.get('runtime.v1.RuntimeService')!.keys()];
  for (let i = 0; i < 20_000; i++) {
    const bytes = Buffer.from(Array.from({ length: next() % 40 }, next));
    try {
      checkWire(bytes, schema(methods[i % methods.length]!));
    } catch (err) {
      assert.ok(err instanceof CricketError && err.kind === 'invalid-argument', String(err));
    }
  }
  assert.ok(VersionRequest.decode(Buffer.from([0xa2, 0x06, 0x01, 0x61])));
});
