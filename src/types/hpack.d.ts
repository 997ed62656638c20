// Only the low-level pieces of hpack.js that src/server/http2/header-block.ts drives directly; the
// stream wrappers (compressor/decompressor) are not used.
declare module 'hpack.js' {
  namespace hpack {
    interface TableEntry {
      name: string;
      value: string;
    }

    /** HPACK header table: static entries at 1..61, dynamic entries after them, newest first. */
    interface Table {
      /** Dynamic entries, oldest first. */
      dynamic: TableEntry[];
      /** Largest size a dynamic table size update may set. */
      protocolMaxSize: number;
      /** Throws on index 0 or past the end. */
      lookup(index: number): TableEntry;
      add(name: string, value: string, nameSize: number, valueSize: number): void;
      /** Throws when size exceeds protocolMaxSize. */
      updateSize(size: number): void;
    }

    /** Bit reader over pushed buffers; reads throw once the input runs out. */
    interface Decoder {
      push(chunk: Buffer): void;
      isEmpty(): boolean;
      decodeBit(): number;
      /** Integer with the prefix that remains in the current octet. */
      decodeInt(): number;
      /** Raw literal as a Buffer, Huffman-coded literal as octets. */
      decodeStr(): Buffer | number[];
    }

    /** Bit writer; render() returns the written octets. */
    interface Encoder {
      encodeBit(bit: number): void;
      encodeBits(bits: number, len: number): void;
      encodeInt(value: number): void;
      encodeStr(octets: ArrayLike<number>, huffman: boolean): void;
      render(): Buffer[];
    }
  }

  const hpack: {
    table: { create(options: { maxSize: number }): hpack.Table };
    decoder: { create(): hpack.Decoder };
    encoder: { create(): hpack.Encoder };
    /** Per octet value (0..256): [code length in bits, code]. */
    huffman: { encode: ReadonlyArray<readonly [number, number]> };
    'static-table': { table: ReadonlyArray<hpack.TableEntry> };
  };
  export = hpack;
}
