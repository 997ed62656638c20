import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nativeTool } from '../process/native-tools.js';
import { KeyedQueue } from '../store/keyed-queue.js';

/**
 * native/cricket-io.c, built by `npm run build`: the stdio jobs Node cannot do itself —
 * SOCK_SEQPACKET (conmon's attach socket), setns (port-forward), receiving a pty over
 * SCM_RIGHTS and being a child subreaper (exec).
 */
export function ioHelper(): string {
  return nativeTool('cricket-io');
}

/** conmon's control FIFO messages (conmon src/config.h). */
export const CTL_WIN_RESIZE = 1;
export const CTL_REOPEN_LOGS = 2;

const ctlQueues = new KeyedQueue();

/**
 * Writes one message to conmon's `<bundle>/ctl` FIFO ("TYPE HEIGHT WIDTH\n"). conmon 2.1.6 only
 * handles the first line of each read(2), so messages to one container are written one at a
 * time with a short gap. Opening non-blocking fails at once (ENXIO) when conmon is gone.
 */
export function writeConmonCtl(bundle: string, type: number, height = 0, width = 0): Promise<void> {
  return ctlQueues.run(bundle, async () => {
    const fh = await open(join(bundle, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      await fh.write(`${type} ${height} ${width}\n`);
    } finally {
      await fh.close();
    }
    await sleep(20);
  });
}
