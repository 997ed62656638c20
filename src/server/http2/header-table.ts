/**
 * HPACK's index space (RFC 7541 2.3): the static table at 1..61, then the dynamic table, newest
 * entry first. The dynamic table mirrors the client's encoder and evicts oldest-first to stay
 * within its size, each entry counting its name and value octets plus 32.
 */
import hpack from 'hpack.js';

const STATIC: ReadonlyArray<{ readonly name: string; readonly value: string }> = hpack['static-table'].table;
const ENTRY_OVERHEAD = 32;

export class HeaderTableError extends Error {
  override readonly name = 'HeaderTableError';
}

export class HeaderTable {
  /** A ring of entries; every entry is at least 32 octets, so the table's size bounds their count. */
  private readonly names: string[];
  private readonly values: string[];
  private newest = -1;
  private count = 0;
  private size = 0;
  private maxSize: number;

  /** `limit`: the largest size a dynamic table size update may set (the SETTINGS value). */
  constructor(readonly limit: number) {
    const slots = Math.max(1, Math.floor(limit / ENTRY_OVERHEAD));
    this.names = new Array<string>(slots).fill('');
    this.values = new Array<string>(slots).fill('');
    this.maxSize = limit;
  }

  /** Entries in the dynamic table. */
  get length(): number {
    return this.count;
  }

  name(index: number): string {
    return index <= STATIC.length ? this.staticEntry(index).name : this.names[this.slot(index)]!;
  }

  value(index: number): string {
    return index <= STATIC.length ? this.staticEntry(index).value : this.values[this.slot(index)]!;
  }

  add(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    // An entry larger than the table empties it and is not added (RFC 7541 4.4).
    this.evictTo(Math.max(0, this.maxSize - entrySize));
    if (entrySize > this.maxSize) return;
    this.newest = (this.newest + 1) % this.names.length;
    this.names[this.newest] = name;
    this.values[this.newest] = value;
    this.count++;
    this.size += entrySize;
  }

  resize(size: number): void {
    if (size > this.limit) throw new HeaderTableError(`dynamic table size ${size} over the limit of ${this.limit}`);
    this.maxSize = size;
    this.evictTo(size);
  }

  private staticEntry(index: number): { readonly name: string; readonly value: string } {
    if (index < 1) throw new HeaderTableError('header table index 0');
    return STATIC[index - 1]!;
  }

  private slot(index: number): number {
    const age = index - STATIC.length - 1;
    if (age >= this.count) throw new HeaderTableError(`header table index ${index} past the table's ${STATIC.length + this.count} entries`);
    const ring = this.names.length;
    return (this.newest - age + ring) % ring;
  }

  private evictTo(size: number): void {
    const ring = this.names.length;
    while (this.size > size) {
      const oldest = (this.newest - this.count + 1 + ring) % ring;
      this.size -= this.names[oldest]!.length + this.values[oldest]!.length + ENTRY_OVERHEAD;
      this.names[oldest] = '';
      this.values[oldest] = '';
      this.count--;
    }
  }
}
