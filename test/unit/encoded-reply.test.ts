// Replies built from per-record wire bytes decode exactly as the generated encoder's would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Container, ListContainersResponse, ListPodSandboxResponse, PodSandbox, ContainerState, PodSandboxState } from '../../src/gen/runtime/v1/api.js';
import { EncodedReply, encodedReply, ItemEncodings, repeatedMessageField } from '../../src/server/encoded-reply.js';

const container = (id: string, labels: Record<string, string>): Container =>
  Container.fromPartial({ id, podSandboxId: 'p'.repeat(64), metadata: { name: 'app', attempt: 2 }, state: ContainerState.CONTAINER_RUNNING, createdAt: 1_700_000_000_000_000_000n, labels, annotations: { 'io.kubernetes.container.hash': 'abc' } });

test('a repeated field made of item bytes equals the generated encoding, short and long items alike', () => {
  const items = [
    container('a'.repeat(64), {}),
    container('b'.repeat(64), Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`label-${i}`, 'v'.repeat(500 + i)]))), // over 127 and 16383 bytes
  ];
  assert.ok(Container.encode(items[1]!).finish().length > 16_384);
  const ours = repeatedMessageField(1, items.map((c) => Container.encode(c).finish()));
  assert.deepEqual(new Uint8Array(ours), ListContainersResponse.encode({ containers: items }).finish());
  assert.deepEqual(ListContainersResponse.decode(ours).containers, items);
  assert.equal(repeatedMessageField(1, []).length, 0);

  const pod = PodSandbox.fromPartial({ id: 'c'.repeat(64), state: PodSandboxState.SANDBOX_READY, runtimeHandler: 'runc' });
  assert.deepEqual(ListPodSandboxResponse.decode(repeatedMessageField(1, [PodSandbox.encode(pod).finish()])).items, [pod]);
});

test('item bytes are made once per record object; a replaced record gets its own', () => {
  let encodes = 0;
  const encodings = new ItemEncodings((r: { id: string; n: number }) => {
    encodes++;
    return new TextEncoder().encode(`${r.id}:${r.n}`);
  });
  const first = Object.freeze({ id: 'x', n: 1 });
  assert.equal(encodings.of(first), encodings.of(first));
  assert.equal(encodes, 1);
  const next = Object.freeze({ ...first, n: 2 });
  assert.equal(new TextDecoder().decode(encodings.of(next)), 'x:2');
  assert.equal(encodes, 2);
});

test('an encoded reply carries its bytes to the serializer', () => {
  const reply = encodedReply<ListContainersResponse>(Buffer.from([1, 2, 3]));
  assert.ok((reply as unknown) instanceof EncodedReply);
  assert.deepEqual([...(reply as unknown as EncodedReply).bytes], [1, 2, 3]);
});
