/**
 * HPACK's Huffman-coded string literals (RFC 7541 5.2 and Appendix B), decoded straight from a
 * header block into a latin1 string. The code table is the spec's; hpack.js carries it as data.
 */
import hpack from 'hpack.js';

const EOS = 256;

/**
 * The code as a binary tree: node n's children sit at 2n (bit 0) and 2n+1 (bit 1); a child of 0
 * is no code, a negative child is the leaf of symbol -child-1. The root is node 0, which is never
 * anyone's child.
 */
function buildTree(codes: ReadonlyArray<readonly [number, number]>): Int32Array {
  const tree = new Int32Array(2 * 2 * codes.length);
  let nodes = 1;
  codes.forEach(([length, code], symbol) => {
    let node = 0;
    for (let bit = length - 1; bit >= 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (bit === 0) {
        tree[slot] = -(symbol + 1);
        break;
      }
      if (tree[slot] === 0) tree[slot] = nodes++;
      node = tree[slot]!;
    }
  });
  return tree;
}

const TREE = buildTree(hpack.huffman.encode);

/** Decoded octets land here first; a string too long for it gets a buffer of its own. */
const scratch = Buffer.allocUnsafe(4096);

export class HuffmanError extends Error {
  override readonly name = 'HuffmanError';
}

/** Decodes `block[start, end)`; throws on EOS in the data or on padding that is not EOS's first bits. */
export function decodeHuffman(block: Uint8Array, start: number, end: number): string {
  // The shortest code is 5 bits, so n octets decode to at most 8n/5 symbols.
  const most = Math.ceil(((end - start) * 8) / 5);
  const out = most <= scratch.length ? scratch : Buffer.allocUnsafe(most);
  let length = 0;
  let node = 0;
  /** Bits read since the last symbol, and whether they were all ones. */
  let pending = 0;
  let allOnes = true;
  for (let at = start; at < end; at++) {
    const octet = block[at]!;
    for (let bit = 7; bit >= 0; bit--) {
      const one = (octet >>> bit) & 1;
      const next = TREE[2 * node + one]!;
      if (next === 0) throw new HuffmanError('not a Huffman code');
      pending++;
      if (one === 0) allOnes = false;
      if (next > 0) {
        node = next;
        continue;
      }
      const symbol = -next - 1;
      if (symbol === EOS) throw new HuffmanError('EOS inside a Huffman-coded string');
      out[length++] = symbol;
      node = 0;
      pending = 0;
      allOnes = true;
    }
  }
  if (pending > 7 || !allOnes) throw new HuffmanError('Huffman padding is not the start of EOS');
  return out.toString('latin1', 0, length);
}
