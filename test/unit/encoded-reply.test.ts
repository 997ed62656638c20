// Replies built from per-record wire bytes decode exactly as the generated encoder's would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Container, ListContainersResponse, ListPodSandboxResponse, PodSandbox, PodSandboxStatus, PodSandboxStatusResponse, ContainerState, PodSandboxState } from '../../src/gen/runtime/v1/api.js';
import { EncodedReply, encodedReply, ItemEncodings, messageField, messageOfFields, varintField } from '../../src/server/encoded-reply.js';
import { framedChunks, GatheredBody, MessageReader } from '../../src/server/grpc-framing.js';

/** What a gathered reply puts on the wire after its prefix. */
const joined = (body: GatheredBody): Buffer => Buffer.concat(body.parts);

const container = (id: string, labels: Record<string, string>): Container =>
  Container.fromPartial({ id, podSandboxId: 'p'.repeat(64), metadata: { name: 'app', attempt: 2 }, state: ContainerState.CONTAINER_RUNNING, createdAt: 1_700_000_000_000_000_000n, labels, annotations: { 'io.kubernetes.container.hash': 'abc' } });

test('a repeated field made of item bytes equals the generated encoding, short and long items alike', () => {
  const items = [
    container('a'.repeat(64), {}),
    container('b'.repeat(64), Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`label-${i}`, 'v'.repeat(500 + i)]))), // over 127 and 16383 bytes
  ];
  assert.ok(Container.encode(items[1]!).finish().length > 16_384);
  const encoded = items.map((c) => messageField(1, Container.encode(c).finish()));
  const ours = messageOfFields(encoded);
  assert.deepEqual(new Uint8Array(joined(ours)), ListContainersResponse.encode({ containers: items }).finish());
  assert.equal(ours.length, joined(ours).length);
  assert.deepEqual(ListContainersResponse.decode(joined(ours)).containers, items);
  // The items themselves go out: not copies of them.
  assert.ok(ours.parts.includes(encoded[0]!) && ours.parts.includes(encoded[1]!));
  assert.equal(messageOfFields([]).length, 0);

  const pod = PodSandbox.fromPartial({ id: 'c'.repeat(64), state: PodSandboxState.SANDBOX_READY, runtimeHandler: 'runc' });
  assert.deepEqual(ListPodSandboxResponse.decode(joined(messageOfFields([messageField(1, PodSandbox.encode(pod).finish())]))).items, [pod]);
});

test('a gathered reply is framed as a prefix and its parts, which read back as one message', () => {
  const body = messageOfFields([messageField(2, Buffer.from('abc')), messageField(2, Buffer.alloc(300, 1))]);
  const chunks = framedChunks(body);
  assert.equal(chunks.length, 1 + body.parts.length);
  assert.deepEqual([...chunks[0]!], [0, 0, 0, body.length >> 8, body.length & 0xff]);
  const messages: Buffer[] = [];
  new MessageReader(1024).push(Buffer.concat(chunks), { message: (m) => messages.push(m) });
  assert.equal(messages.length, 1);
  assert.deepEqual(messages[0], joined(body));
});

test('item bytes are made once per record object; a replaced record gets its own', () => {
  let encodes = 0;
  const encodings = new ItemEncodings(1, (r: { id: string; n: number }) => {
    encodes++;
    return new TextEncoder().encode(`${r.id}:${r.n}`);
  });
  const first = Object.freeze({ id: 'x', n: 1 });
  assert.equal(encodings.of(first), encodings.of(first));
  assert.equal(encodes, 1);
  const next = Object.freeze({ ...first, n: 2 });
  // The item as field 1 of the list: tag 0x0a, length 3, then its bytes.
  assert.deepEqual([...encodings.of(next)], [0x0a, 3, ...new TextEncoder().encode('x:2')]);
  assert.equal(encodes, 2);
});

test('an encoded reply carries its bytes to the serializer', () => {
  const reply = encodedReply<ListContainersResponse>(Buffer.from([1, 2, 3]));
  assert.ok((reply as unknown) instanceof EncodedReply);
  assert.deepEqual([...((reply as unknown as EncodedReply).body as Buffer)], [1, 2, 3]);
});

test('a status reply of cached status bytes and a timestamp field equals the generated encoding', () => {
  const status = PodSandboxStatus.fromPartial({ id: 'd'.repeat(64), state: PodSandboxState.SANDBOX_READY, createdAt: 1_700_000_000_000_000_123n, network: { ip: '10.1.2.3' }, labels: { a: 'b' } });
  for (const timestamp of [1n, 127n, 128n, (1n << 28n) + 5n, (1n << 32n) - 1n, 1n << 32n, (1n << 35n) + 127n, 1n << 56n, 1_764_000_000_123_456_789n, (1n << 63n) - 1n]) {
    const ours = messageOfFields([messageField(1, PodSandboxStatus.encode(status).finish()), varintField(4, timestamp)]);
    assert.deepEqual(new Uint8Array(joined(ours)), PodSandboxStatusResponse.encode({ status, info: {}, containersStatuses: [], timestamp }).finish());
    assert.equal(PodSandboxStatusResponse.decode(joined(ours)).timestamp, timestamp);
  }
});
