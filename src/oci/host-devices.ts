import { readdirSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../errors.js';
import { deviceNumbers } from './device-numbers.js';
import type { OciDevice } from './spec-types.js';

/** Every device node of the host, for privileged containers (as other runtimes give them). */
export function hostDevices(): OciDevice[] {
  const devices: OciDevice[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!['pts', 'shm', 'mqueue', 'fd'].includes(entry.name) || dir !== '/dev') walk(path);
        continue;
      }
      if (!entry.isCharacterDevice() && !entry.isBlockDevice()) continue;
      if (path === '/dev/console' || path === '/dev/ptmx') continue;
      const st = statSync(path, { bigint: true });
      const { major, minor } = deviceNumbers(st.rdev);
      devices.push({ path, type: entry.isCharacterDevice() ? 'c' : 'b', major, minor, fileMode: Number(st.mode & 0o777n), uid: 0, gid: 0 });
    }
  };
  try {
    walk('/dev');
  } catch {
    // A device that vanished while listing is not worth failing a container for.
  }
  return devices;
}

/** Type, numbers and mode of one device node of the host; anything else is refused. */
export async function statDevice(hostPath: string): Promise<{ type: 'c' | 'b'; major: number; minor: number; fileMode: number }> {
  const st = await stat(hostPath, { bigint: true }).catch((err: Error) => {
    throw invalidArgument(`device ${hostPath}: ${err.message}`);
  });
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw invalidArgument(`${hostPath} is not a device node`);
  return { type: st.isCharacterDevice() ? 'c' : 'b', ...deviceNumbers(st.rdev), fileMode: Number(st.mode & 0o777n) };
}
