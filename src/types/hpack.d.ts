// The two tables of RFC 7541 that hpack.js carries as data, which src/server/http2/ reads: the
// static header table and the Huffman code. The decoding itself is cricket's own.
declare module 'hpack.js' {
  const hpack: {
    /** Per octet value (0..255) and EOS (256): [code length in bits, code]. */
    huffman: { encode: ReadonlyArray<readonly [number, number]> };
    /** RFC 7541 Appendix A, index 1 first. */
    'static-table': { table: ReadonlyArray<{ name: string; value: string }> };
  };
  export = hpack;
}
