// HPACK decoding of request header blocks (src/server/http2/header-block.ts, header-table.ts,
// huffman.ts): RFC 7541's own request examples, hostile encodings, and a cross-check against
// hpack.js's encoder over many blocks that make the dynamic table evict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { ConnectionError, ErrorCode } from '../../src/server/http2/frames.js';
import { HeaderDecoder } from '../../src/server/http2/header-block.js';
import { HeaderTable } from '../../src/server/http2/header-table.js';
import { decodeHuffman } from '../../src/server/http2/huffman.js';

interface Compressor {
  write(headers: Array<{ name: string; value: string; huffman?: boolean; neverIndex?: boolean }>): void;
  read(): Buffer | null;
}
const hpackStreams = createRequire(import.meta.url)('hpack.js') as {
  compressor: { create(opts: { table: { maxSize: number } }): Compressor };
};

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

const EXAMPLE_LISTS = [
  { ':method': 'GET', ':scheme': 'http', ':path': '/', ':authority': 'www.example.com' },
  { ':method': 'GET', ':scheme': 'http', ':path': '/', ':authority': 'www.example.com', 'cache-control': 'no-cache' },
  { ':method': 'GET', ':scheme': 'https', ':path': '/index.html', ':authority': 'www.example.com', 'custom-key': 'custom-value' },
];

test('RFC 7541 C.3: three requests with raw literals share one dynamic table', () => {
  const decoder = new HeaderDecoder();
  const blocks = [
    '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    '8286 84be 5808 6e6f 2d63 6163 6865',
    '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
  ];
  blocks.forEach((block, i) => {
    const decoded = decoder.decode(hex(block));
    assert.equal(decoded.fieldError, null);
    assert.deepEqual({ ...decoded.headers.toRecord() }, EXAMPLE_LISTS[i]);
  });
});

test('RFC 7541 C.4: the same requests with Huffman-coded literals', () => {
  const decoder = new HeaderDecoder();
  const blocks = [
    '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
    '8286 84be 5886 a8eb 1064 9cbf',
    '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
  ];
  blocks.forEach((block, i) => {
    const decoded = decoder.decode(hex(block));
    assert.deepEqual({ ...decoded.headers.toRecord() }, EXAMPLE_LISTS[i]);
    // RFC 7541 4.1: each field counts its name and value octets plus 32.
    const expected = Object.entries(EXAMPLE_LISTS[i]!).reduce((sum, [n, v]) => sum + n.length + v.length + 32, 0);
    assert.equal(decoded.size, expected);
  });
});

test('Huffman: padding must be at most 7 bits of ones; EOS may not appear', () => {
  // 'a' is 00011: padded with ones it is 0x1f.
  assert.equal(decodeHuffman(Buffer.from([0x1f]), 0, 1), 'a');
  assert.throws(() => decodeHuffman(Buffer.from([0x18]), 0, 1), /padding/);
  assert.throws(() => decodeHuffman(Buffer.from([0x1f, 0xff]), 0, 2), /padding/);
  assert.throws(() => decodeHuffman(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4), /EOS/);
  // Longer than the shared scratch buffer: 8000 'a's are 5000 octets.
  const long = Buffer.alloc(5000);
  for (let bit = 0; bit < 40000; bit++) if (bit % 5 >= 3) long[bit >> 3]! |= 0x80 >> (bit & 7);
  assert.equal(decodeHuffman(long, 0, long.length), 'a'.repeat(8000));
});

test('the dynamic table evicts oldest first, empties for an entry larger than itself, and bounds its indices', () => {
  const table = new HeaderTable(100);
  table.add('a', '1'.repeat(10)); // 43
  table.add('b', '2'.repeat(10)); // 43
  assert.equal(table.length, 2);
  assert.equal(table.name(62), 'b');
  assert.equal(table.name(63), 'a');
  table.add('c', '3'); // 34: 'a' goes
  assert.equal(table.length, 2);
  assert.deepEqual([table.name(62), table.value(62), table.name(63)], ['c', '3', 'b']);
  assert.throws(() => table.name(64), /past the table/);
  assert.throws(() => table.name(0), /index 0/);
  assert.equal(table.name(2), ':method');
  assert.equal(table.value(3), 'POST');
  table.resize(40);
  assert.equal(table.length, 1);
  assert.throws(() => table.resize(101), /over the limit/);
  table.resize(100);
  table.add('d', 'x'.repeat(80)); // 113: larger than the table
  assert.equal(table.length, 0);
});

test('encodings HPACK cannot follow are compression errors', () => {
  const cases: Array<[string, Buffer]> = [
    ['index 0', hex('80')],
    ['index past the table', hex('ff00')],
    ['integer of too many octets', hex('ffffffffffff7f')],
    ['string past the block', hex('0005 41')],
    ['field cut after its name', hex('0001 61')],
    ['size update after a field', hex('8220')],
    ['size update over the limit', hex('3fe21f')],
    ['bad Huffman padding', hex('0081 18 0161')],
  ];
  for (const [name, block] of cases) {
    const decoder = new HeaderDecoder();
    assert.throws(() => decoder.decode(block), (err: unknown) => err instanceof ConnectionError && err.code === ErrorCode.COMPRESSION_ERROR, name);
  }
});

test('well-encoded but malformed lists name their fault and keep decoding the table', () => {
  const decoder = new HeaderDecoder();
  const literal = (name: string, value: string) => Buffer.concat([Buffer.from([0x40, name.length]), Buffer.from(name, 'latin1'), Buffer.from([value.length]), Buffer.from(value, 'latin1')]);
  const faults: Array<[Buffer, RegExp]> = [
    [Buffer.concat([hex('83'), literal(':protocol', 'websocket')]), /undefined pseudo-header/],
    [Buffer.concat([hex('83 86'), literal('x-a', 'b'), hex('84')]), /after regular headers/],
    [Buffer.concat([hex('83 83')]), /repeated pseudo-header/],
    [Buffer.concat([hex('83'), literal('X-Upper', 'v')]), /upper-case/],
    [Buffer.concat([hex('83'), literal('a b', 'v')]), /space/],
    [Buffer.concat([hex('83'), literal('x-a', 'a\nb')]), /NUL, CR or LF/],
    [Buffer.concat([hex('83'), literal('connection', 'close')]), /connection-specific/],
    [Buffer.concat([hex('83'), literal('te', 'gzip')]), /te other than/],
  ];
  for (const [block, why] of faults) assert.match(decoder.decode(block).fieldError ?? '', why);
  // Every literal above was indexed, the malformed ones too: the table still mirrors the encoder.
  assert.equal(decoder.decode(hex('be')).headers.get('te'), 'gzip');
  const repeated = decoder.decode(Buffer.concat([literal('x-r', '1'), literal('x-r', '2')]));
  assert.equal(repeated.headers.get('x-r'), '1, 2');
});

test('agrees with hpack.js\'s encoder over blocks that keep the dynamic table evicting', () => {
  const encoder = hpackStreams.compressor.create({ table: { maxSize: 4096 } });
  const decoder = new HeaderDecoder();
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const names = ['accept', 'user-agent', 'grpc-timeout', 'x-a', 'x-long-name-for-the-table', 'content-type'];
  for (let round = 0; round < 300; round++) {
    const fields: Array<{ name: string; value: string; huffman: boolean; neverIndex: boolean }> = [];
    const count = 1 + random(8);
    for (let i = 0; i < count; i++) {
      const value = Array.from({ length: random(300) }, () => String.fromCharCode(0x20 + random(0x5f))).join('');
      fields.push({ name: names[random(names.length)]!, value, huffman: random(2) === 0, neverIndex: random(5) === 0 });
    }
    encoder.write(fields);
    const chunks: Buffer[] = [];
    for (let chunk = encoder.read(); chunk; chunk = encoder.read()) chunks.push(chunk);
    const decoded = decoder.decode(Buffer.concat(chunks));
    for (const name of new Set(fields.map((f) => f.name))) {
      const expected = fields.filter((f) => f.name === name).map((f) => f.value).join(', ');
      assert.equal(decoded.headers.get(name), expected, `round ${round}, ${name}`);
    }
  }
});

test('random blocks either decode or end the connection with COMPRESSION_ERROR, never anything else', () => {
  let seed = 11;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const decoder = new HeaderDecoder();
  let decoded = 0;
  for (let round = 0; round < 3000; round++) {
    const block = Buffer.from(Array.from({ length: random(64) }, () => random(256)));
    try {
      const { headers, size } = decoder.decode(block);
      assert.ok(size >= 0);
      assert.equal(typeof headers.toRecord(), 'object');
      decoded++;
    } catch (err) {
      assert.ok(err instanceof ConnectionError && err.code === ErrorCode.COMPRESSION_ERROR, `round ${round}: ${String(err)}`);
    }
  }
  // Some random blocks are valid (indexed static fields), so both outcomes were exercised.
  assert.ok(decoded > 0);
});
