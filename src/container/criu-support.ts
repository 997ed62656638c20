import { findProgram } from '../process/find-program.js';
import { ProgramError, run } from '../process/run.js';

export interface CriuSupport {
  usable: boolean;
  /** CRIU's own words: why it cannot work here, or that it can. */
  reason: string;
}

/** A node's kernel and CRIU do not change under a running daemon often; a failed check is redone now and then. */
const CACHE_MS = 5 * 60_000;
const CHECK_TIMEOUT_MS = 20_000;

let cached: { at: number; result: Promise<CriuSupport> } | undefined;

/**
 * Whether CRIU can checkpoint and restore on this node, from `criu check`. CRIU initialises its
 * view of the kernel (vDSO layout among it) before any dump or restore, so a failing check
 * means every checkpoint would fail the same way: better said at once than after a dump.
 */
export function criuSupport(now = Date.now()): Promise<CriuSupport> {
  if (!cached || now - cached.at > CACHE_MS) cached = { at: now, result: probe() };
  return cached.result;
}

async function probe(): Promise<CriuSupport> {
  let criu: string;
  try {
    criu = findProgram('criu');
  } catch (err) {
    return { usable: false, reason: (err as Error).message };
  }
  try {
    const { stdout } = await run(criu, ['check'], { timeoutMs: CHECK_TIMEOUT_MS });
    return { usable: true, reason: stdout.trim() || 'criu check passed' };
  } catch (err) {
    if (!(err instanceof ProgramError)) return { usable: false, reason: String(err) };
    if (err.timedOut) return { usable: false, reason: `criu check did not answer in ${CHECK_TIMEOUT_MS / 1000} s` };
    const lines = `${err.stderr}\n${err.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean);
    return { usable: false, reason: `criu check failed: ${lines.slice(0, 6).join('; ') || `exit ${err.exitCode}`}` };
  }
}
