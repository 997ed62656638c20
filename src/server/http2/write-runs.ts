/**
 * The pieces of output gathered in one turn (frame headers, HPACK blocks, message bytes, each
 * record's kept bytes in a list answer), as the few buffers they are written in. A socket write
 * per piece costs far more than copying a small piece: at 100 containers a ListContainers answer
 * is some 200 pieces, and writing them one by one made 17 KB of garbage a call (a write request
 * and a Buffer view per piece). Small pieces are joined into runs of up to `runLimit` bytes; a
 * piece of `largePiece` bytes or more is written as it is, so that no large body is copied.
 */
export const WRITE_LARGE_PIECE = 16 * 1024;
export const WRITE_RUN_LIMIT = 64 * 1024;

export function writeRuns(pieces: readonly Uint8Array[], largePiece = WRITE_LARGE_PIECE, runLimit = WRITE_RUN_LIMIT): Uint8Array[] {
  const writes: Uint8Array[] = [];
  // The current run is pieces[first, i): `count` pieces with bytes in them, `bytes` in all.
  let first = 0;
  let count = 0;
  let bytes = 0;
  const endRun = (end: number) => {
    if (count === 1) {
      for (let k = first; k < end; k++) if (pieces[k]!.length) writes.push(pieces[k]!);
    } else if (count > 1) {
      // Copied straight into one buffer: no array of the run's pieces is made.
      const joined = Buffer.allocUnsafe(bytes);
      let at = 0;
      for (let k = first; k < end; k++) {
        joined.set(pieces[k]!, at);
        at += pieces[k]!.length;
      }
      writes.push(joined);
    }
    first = end;
    count = 0;
    bytes = 0;
  };
  for (let i = 0; i < pieces.length; i++) {
    const length = pieces[i]!.length;
    if (length >= largePiece) {
      endRun(i);
      writes.push(pieces[i]!);
      first = i + 1;
      continue;
    }
    if (length === 0) continue;
    if (bytes + length > runLimit) endRun(i);
    count++;
    bytes += length;
  }
  endRun(pieces.length);
  return writes;
}
