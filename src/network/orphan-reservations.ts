import { open, readdir, unlink } from 'node:fs/promises';
import { constants } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { isErrno } from '../errors.js';

/** A reservation file holds a container id and an interface name: a few hundred bytes at most. */
const MAX_RESERVATION_BYTES = 4096;

/**
 * Removes host-local's address reservations (one file per address, holding the owner's container
 * id on its first line) whose owner is not among `liveIds`. Start-up recovery calls this for the
 * embedded network, whose data dir is cricket's alone: a pod record lost to a power loss would
 * otherwise hold its address for good. Returns the addresses released.
 */
export async function releaseOrphanReservations(networkDir: string, liveIds: ReadonlySet<string>): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(networkDir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const released: string[] = [];
  for (const name of names) {
    if (isIP(name) === 0) continue;
    const file = path.join(networkDir, name);
    const owner = await readOwner(file);
    if (owner === undefined || liveIds.has(owner)) continue;
    await unlink(file).catch(() => undefined);
    released.push(name);
  }
  return released;
}

/** The container id in a reservation file, or undefined when it is not a plain small file. */
async function readOwner(file: string): Promise<string | undefined> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined);
  if (!handle) return undefined;
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > MAX_RESERVATION_BYTES) return undefined;
    // At most the cap, even if the file grew after the stat.
    const buf = Buffer.alloc(MAX_RESERVATION_BYTES);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const owner = buf.toString('utf8', 0, bytesRead).split(/\r?\n/, 1)[0]!.trim();
    return owner === '' ? undefined : owner;
  } finally {
    await handle.close();
  }
}
