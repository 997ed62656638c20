/**
 * Extended attributes of tar entries (PAX records `SCHILY.xattr.<name>=<value>`, what Docker,
 * BuildKit and GNU tar write). node-tar's parser decodes PAX headers as UTF-8 text and keeps
 * only the fields it knows, which loses them (and would mangle binary values such as
 * security.capability). This scanner reads the same plain tar bytes the parser reads, block by
 * block, and records the attributes of each entry by its ordinal (the n-th non-meta entry, as the
 * parser counts them) together with its path, so the writer can check it pairs them right.
 */
export interface EntryXattrs {
  path: string;
  xattrs: Array<[string, Buffer]>;
}

const BLOCK = 512;

function cString(buf: Buffer, start: number, end: number): string {
  const nul = buf.indexOf(0, start);
  return buf.toString('utf8', start, nul === -1 || nul > end ? end : nul);
}

function headerSize(h: Buffer): number {
  if (h[124]! & 0x80) {
    // base-256: the remaining bytes, big-endian
    let n = 0;
    for (let i = 125; i < 136; i++) n = n * 256 + h[i]!;
    return n;
  }
  const text = cString(h, 124, 136).trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** PAX records: "<len> <key>=<value>\n", len counting the whole record in bytes. */
function paxRecords(body: Buffer): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space === -1) break;
    const len = Number.parseInt(body.toString('ascii', pos, space), 10);
    if (!Number.isInteger(len) || len <= 0 || pos + len > body.length) break;
    const record = body.subarray(space + 1, pos + len - 1); // without the trailing newline
    const eq = record.indexOf(0x3d);
    if (eq > 0) out.push([record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1))]);
    pos += len;
  }
  return out;
}

export class PaxXattrScanner {
  /** Entries with attributes, by ordinal. */
  readonly found = new Map<number, EntryXattrs>();
  private pending = Buffer.alloc(0);
  private ordinal = 0;
  /** What the next real entry inherits from the PAX or GNU headers before it. */
  private nextXattrs: Array<[string, Buffer]> = [];
  private nextPath?: string;
  private nextSize?: number;
  /** Body being skipped or collected: bytes left including padding, and whether to keep it. */
  private body?: { left: number; size: number; kind: 'pax' | 'longname' | 'skip'; chunks: Buffer[] };

  write(chunk: Buffer): void {
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (this.body) {
        const take = Math.min(this.body.left, data.length);
        if (this.body.kind !== 'skip') this.body.chunks.push(data.subarray(0, take));
        this.body.left -= take;
        data = data.subarray(take);
        if (this.body.left === 0) this.endBody();
        continue;
      }
      if (data.length < BLOCK) {
        this.pending = Buffer.from(data);
        return;
      }
      this.header(data.subarray(0, BLOCK));
      data = data.subarray(BLOCK);
    }
  }

  private header(h: Buffer): void {
    if (h.every((b) => b === 0)) return; // end-of-archive blocks
    const type = h[156] === 0 ? '0' : String.fromCharCode(h[156]!);
    const size = headerSize(h);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const start = (kind: 'pax' | 'longname' | 'skip', n: number, p: number) => {
      if (p > 0) this.body = { left: p, size: n, kind, chunks: [] };
      else if (kind !== 'skip') {
        this.body = { left: 0, size: 0, kind, chunks: [] };
        this.endBody();
      }
    };
    if (type === 'x') return start('pax', size, padded);
    if (type === 'L') return start('longname', size, padded);
    if (type === 'g' || type === 'K') return start('skip', size, padded);
    // A real entry (the parser counts it, whatever its type).
    const ustar = h.toString('ascii', 257, 262) === 'ustar';
    const name = cString(h, 0, 100);
    const prefix = ustar ? cString(h, 345, 500) : '';
    const path = this.nextPath ?? (prefix ? `${prefix}/${name}` : name);
    if (this.nextXattrs.length > 0) this.found.set(this.ordinal, { path, xattrs: this.nextXattrs });
    this.ordinal++;
    const dataSize = this.nextSize ?? size;
    this.nextXattrs = [];
    this.nextPath = undefined;
    this.nextSize = undefined;
    start('skip', dataSize, Math.ceil(dataSize / BLOCK) * BLOCK);
  }

  private endBody(): void {
    const b = this.body!;
    this.body = undefined;
    if (b.kind === 'skip') return;
    const content = Buffer.concat(b.chunks).subarray(0, b.size);
    if (b.kind === 'longname') {
      this.nextPath = cString(content, 0, content.length);
      return;
    }
    for (const [key, value] of paxRecords(content)) {
      if (key.startsWith('SCHILY.xattr.')) this.nextXattrs.push([key.slice('SCHILY.xattr.'.length), value]);
      else if (key === 'path') this.nextPath = value.toString('utf8');
      else if (key === 'size') {
        const n = Number(value.toString('ascii'));
        if (Number.isSafeInteger(n) && n >= 0) this.nextSize = n;
      }
    }
  }
}

/**
 * Attributes a layer may set. trusted.* would let a layer forge overlayfs' own markers
 * (whiteouts, opaque and redirected directories); security.selinux and ACLs belong to the host.
 */
export function allowedXattr(name: string): boolean {
  return name.startsWith('user.') || name === 'security.capability';
}
