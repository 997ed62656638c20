// Reader of the CRI log format (`<RFC3339Nano> stdout|stderr P|F <text>` per record): partial
// records joined into lines, following the file across rotation (rename and reopen).
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';

// Non-blocking: opening a FIFO put where a log should be must not hang the CLI.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

export interface LogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

const RECORD = /^(\S+) (stdout|stderr) ([PF])(?: (.*))?$/;

/** Turns record bytes into lines; keeps an unfinished record and partial lines between pushes. */
export class CriLogParser {
  private rest = '';
  private readonly partial = { stdout: '', stderr: '' };

  push(chunk: string): LogLine[] {
    const text = this.rest + chunk;
    const records = text.split('\n');
    this.rest = records.pop()!;
    const lines: LogLine[] = [];
    for (const record of records) {
      const m = RECORD.exec(record);
      if (!m) continue;
      const stream = m[2] as 'stdout' | 'stderr';
      this.partial[stream] += m[4] ?? '';
      if (m[3] === 'F') {
        lines.push({ time: m[1]!, stream, text: this.partial[stream] });
        this.partial[stream] = '';
      }
    }
    return lines;
  }
}

const MAX_READ = 64 * 1024 * 1024;
const CHUNK = 256 * 1024;

/** An open log file read from a position; knows its inode to notice rotation. */
export class LogFile {
  private fd: number;
  private ino: number;
  private pos: number;

  constructor(
    readonly path: string,
    fromEnd = false,
  ) {
    this.fd = openSync(path, OPEN_FLAGS);
    const st = fstatSync(this.fd);
    if (!st.isFile()) {
      closeSync(this.fd);
      throw new Error(`${path} is not a regular file`);
    }
    this.ino = st.ino;
    // A huge log is read from its last 64 MiB: the tail is what anyone wants.
    this.pos = fromEnd ? st.size : Math.max(0, st.size - MAX_READ);
  }

  /** Everything new since the last read (bounded per call). */
  read(): string {
    const st = fstatSync(this.fd);
    if (st.size < this.pos) this.pos = 0; // truncated in place
    const parts: Buffer[] = [];
    let total = 0;
    while (this.pos < st.size && total < MAX_READ) {
      const buf = Buffer.alloc(Math.min(CHUNK, st.size - this.pos));
      const n = readSync(this.fd, buf, 0, buf.length, this.pos);
      if (n <= 0) break;
      this.pos += n;
      total += n;
      parts.push(buf.subarray(0, n));
    }
    return Buffer.concat(parts).toString('utf8');
  }

  /** After a rotation the path names a new file: the old one is drained first, then swapped. */
  rotated(): boolean {
    try {
      return statSync(this.path).ino !== this.ino;
    } catch {
      return false;
    }
  }

  reopen(): void {
    const fd = openSync(this.path, OPEN_FLAGS);
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      throw new Error(`${this.path} is not a regular file`);
    }
    closeSync(this.fd);
    this.fd = fd;
    this.ino = st.ino;
    this.pos = 0;
  }

  close(): void {
    closeSync(this.fd);
  }
}
