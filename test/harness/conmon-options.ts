import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ConmonCreateOptions } from '../../src/oci/conmon.js';
import { findProgram } from '../../src/process/find-program.js';

/** conmon's options for container `id` under the test's `dir`, with the directories they name. */
export function conmonOptions(dir: string, id: string): ConmonCreateOptions {
  const bundle = join(dir, id);
  for (const sub of [bundle, join(dir, 'exits'), join(dir, 'attach'), join(dir, 'runc')]) mkdirSync(sub, { recursive: true });
  return {
    containerId: id,
    name: 'app',
    bundle,
    logPath: join(dir, `${id}.log`),
    exitDir: join(dir, 'exits'),
    socketDir: join(dir, 'attach'),
    runtimeCommand: [findProgram('runc')],
    runcRoot: join(dir, 'runc'),
    stdin: false,
    stdinOnce: false,
    tty: false,
    timeoutMs: 20_000,
  };
}
