import { Parser, type ReadEntry } from 'tar';
import { invalidArgument } from '../errors.js';
import { PaxXattrScanner, type EntryXattrs } from './pax-xattrs.js';

export type { ReadEntry };

/** An entry with the extended attributes its PAX header gave (see PaxXattrScanner). */
export type EntryWithXattrs = ReadEntry & { xattrs?: EntryXattrs };

export interface TarReadResult {
  entries: number;
}

/**
 * The last stage of a stream.pipeline: `consume` parses a plain tar stream with node-tar's
 * Parser and calls `onEntry` for one entry at a time, in archive order. The parser emits the
 * next entry only once the current one has ended, and entries start paused, so awaiting the
 * handler before draining the entry keeps extraction strictly sequential (a later entry is
 * never looked at before an earlier one is on disk). Anything the parser only warns about
 * (bad checksum, truncation, unsupported entry types) is an error here: a layer is either
 * read whole or refused.
 *
 * When consume fails, pipeline may report the stream teardown (an AbortError) rather than the
 * cause; `reason(err)` gives back the cause.
 */
export class TarSink {
  private failure: unknown;

  /** With `xattrs`, entries carry the extended attributes of their PAX headers. */
  constructor(
    private readonly onEntry: (entry: EntryWithXattrs) => Promise<void>,
    private readonly opts: { xattrs?: boolean } = {},
  ) {}

  /** The error that stopped the parse, else `err` itself. */
  reason(err: unknown): unknown {
    return this.failure ?? err;
  }

  readonly consume = async (source: AsyncIterable<Buffer>): Promise<TarReadResult> => {
    const parser = new Parser({ strict: false });
    const scanner = this.opts.xattrs ? new PaxXattrScanner() : undefined;
    let count = 0;
    let onFail: (err: unknown) => void = () => {};
    const failed = new Promise<never>((_, reject) => {
      onFail = reject;
    });
    failed.catch(() => {});
    const fail = (err: unknown): void => {
      if (this.failure === undefined) {
        this.failure = err;
        onFail(err);
      }
    };
    const failedYet = (): boolean => this.failure !== undefined;

    let chain: Promise<void> = Promise.resolve();
    parser.on('entry', (entry: EntryWithXattrs) => {
      const found = scanner?.found.get(count);
      if (found) {
        entry.xattrs = found;
        scanner!.found.delete(count);
      }
      count++;
      chain = chain.then(async () => {
        try {
          if (!failedYet()) await this.onEntry(entry);
        } catch (err) {
          fail(err);
        } finally {
          // Whatever the handler did not read is skipped, so that the parser moves on.
          if (!entry.emittedEnd) entry.resume();
        }
      });
    });
    parser.on('ignoredEntry', (entry: ReadEntry) => {
      fail(invalidArgument(`unsupported tar entry "${entry.path}" of type ${entry.type}`));
    });
    parser.on('warn', (code: string, message: string) => {
      // An archive of nothing but its end blocks (an empty layer) is valid.
      if (count === 0 && code === 'TAR_BAD_ARCHIVE' && /Unrecognized archive format/.test(message)) return;
      fail(invalidArgument(`bad tar archive: ${message}`));
    });
    parser.on('error', (err: Error) => fail(invalidArgument(`bad tar archive: ${err.message}`)));
    const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));

    for await (const chunk of source) {
      if (failedYet()) break;
      scanner?.write(chunk);
      if (!parser.write(chunk)) {
        let onDrain: () => void = () => {};
        const drained = new Promise<void>((resolve) => {
          onDrain = resolve;
          parser.once('drain', onDrain);
        });
        try {
          await Promise.race([drained, failed]).catch(() => {});
        } finally {
          parser.removeListener('drain', onDrain);
        }
      }
    }
    if (!failedYet()) {
      parser.end();
      await Promise.race([ended, failed]).catch(() => {});
      await chain;
    }
    if (failedYet()) throw this.failure;
    return { entries: count };
  };
}
