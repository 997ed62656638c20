// Deterministic tar writer for image builds and for tests that need hand-made (even hostile)
// archives. It writes exactly what it is given: no path cleaning, no metadata from the host,
// so the same entries always give the same bytes.
import { Buffer } from 'node:buffer';

const BLOCK = 512;
const TYPE_FLAGS = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
  pax: 'x',
};

function writeString(buf, offset, width, value) {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > width) throw new Error(`tar: "${value}" does not fit in ${width} bytes`);
  bytes.copy(buf, offset);
}

function writeOctal(buf, offset, width, value) {
  const digits = Math.trunc(value).toString(8);
  if (digits.length > width - 1) throw new Error(`tar: ${value} does not fit in ${width} bytes`);
  writeString(buf, offset, width, digits.padStart(width - 1, '0') + '\0');
}

function paxRecord(key, value) {
  // The length prefix counts itself, so grow it until it is stable.
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body);
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** Splits a long name into ustar prefix/name at a slash; undefined when it cannot. */
function splitUstar(path) {
  const bytes = Buffer.byteLength(path);
  if (bytes <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) {
      return { prefix, name };
    }
  }
  return undefined;
}

function rawHeader(h) {
  const buf = Buffer.alloc(BLOCK);
  writeString(buf, 0, 100, h.name);
  writeOctal(buf, 100, 8, h.mode);
  writeOctal(buf, 108, 8, h.uid);
  writeOctal(buf, 116, 8, h.gid);
  writeOctal(buf, 124, 12, h.size);
  writeOctal(buf, 136, 12, h.mtime);
  buf.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  writeString(buf, 156, 1, h.typeflag);
  writeString(buf, 157, 100, h.linkname);
  writeString(buf, 257, 6, 'ustar\0');
  writeString(buf, 263, 2, '00');
  writeString(buf, 265, 32, h.uname);
  writeString(buf, 297, 32, h.gname);
  writeOctal(buf, 329, 8, h.devmajor);
  writeOctal(buf, 337, 8, h.devminor);
  writeString(buf, 345, 155, h.prefix);
  let sum = 0;
  for (const b of buf) sum += b;
  writeString(buf, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return buf;
}

function padding(size) {
  const rem = size % BLOCK;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem);
}

/**
 * One tar entry (header, data, padding). Fields: path, type (file|hardlink|symlink|char|block|
 * dir|fifo), mode, uid, gid, mtime (seconds), linkname, devmajor, devminor, data (Buffer).
 */
export function tarEntry(entry) {
  const type = entry.type ?? 'file';
  const typeflag = TYPE_FLAGS[type];
  if (typeflag === undefined) throw new Error(`tar: unknown entry type ${type}`);
  const data = type === 'file' ? (entry.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
  const linkname = entry.linkname ?? '';
  const mtime = entry.mtime ?? 0;
  const parts = [];
  let split = splitUstar(entry.path);
  const pax = [];
  if (split === undefined) {
    pax.push(paxRecord('path', entry.path));
    split = { prefix: '', name: Buffer.from(entry.path).subarray(0, 99).toString('latin1').replace(/[^\x20-\x7e]/g, '_') };
  }
  let shortLink = linkname;
  if (Buffer.byteLength(linkname) > 100) {
    pax.push(paxRecord('linkpath', linkname));
    shortLink = '';
  }
  if (pax.length > 0) {
    const body = Buffer.from(pax.join(''), 'utf8');
    parts.push(rawHeader({
      name: 'PaxHeader', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime, typeflag: 'x',
      linkname: '', uname: '', gname: '', devmajor: 0, devminor: 0, prefix: '',
    }), body, padding(body.length));
  }
  parts.push(rawHeader({
    name: split.name,
    prefix: split.prefix,
    mode: entry.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    size: data.length,
    mtime,
    typeflag,
    linkname: shortLink,
    uname: entry.uname ?? '',
    gname: entry.gname ?? '',
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
  }));
  if (data.length > 0) parts.push(data, padding(data.length));
  return Buffer.concat(parts);
}

/** A whole archive: the entries in the order given, then the two zero blocks that end it. */
export function tarArchive(entries) {
  return Buffer.concat([...entries.map(tarEntry), Buffer.alloc(BLOCK * 2)]);
}
