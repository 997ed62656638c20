import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isErrno, withContext } from '../errors.js';
import { isNetnsMounted } from '../network/netns.js';
import { bindMount } from '../process/mount.js';

/**
 * Pins the network namespace pause made (a pod with its own user namespace: that namespace must
 * own the pod's network namespace, or neither pause's sysfs nor the containers' setns into it
 * are allowed) at `path`, where CNI and teardown find it as they find a namespace cricket made.
 */
export async function pinPauseNetns(path: string, pausePid: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  try {
    const fh = await open(path, 'wx', 0o444);
    await fh.close();
  } catch (err) {
    if (!isErrno(err, 'EEXIST') || (await isNetnsMounted(path))) throw withContext(`pinning the network namespace of pause at ${path}`, err);
  }
  await bindMount(`/proc/${pausePid}/ns/net`, path, false).catch((err) => {
    throw withContext(`pinning the network namespace of pause (pid ${pausePid}) at ${path}`, err);
  });
}
