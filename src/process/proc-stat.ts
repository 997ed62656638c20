/** The fields of /proc/<pid>/stat that cricket uses. */
export interface ProcStat {
  pid: number;
  /** The command name; may hold spaces and parentheses of its own. */
  comm: string;
  /** One letter: R, S, D, Z (zombie), T, t, X, I, ... */
  state: string;
  ppid: number;
  /** Field 22: clock ticks after boot at which the process started. Pid plus this names one process. */
  startTime: number;
}

/**
 * Parses /proc/<pid>/stat. The command name sits in parentheses and may itself contain `)` and
 * spaces, so the fields after it are found from the LAST `)`, which the kernel always writes.
 * Returns undefined for anything that is not a well-formed stat line.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  if (text.length > 4096) return undefined;
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open <= 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open));
  // After ") ": field 3 (state) onwards, one space between fields.
  const rest = text.slice(close + 2).trimEnd().split(' ');
  if (!Number.isSafeInteger(pid) || pid <= 0 || rest.length < 20) return undefined;
  const state = rest[0]!;
  const ppid = Number(rest[1]);
  const startTime = Number(rest[22 - 3]);
  if (!/^[A-Za-z]$/.test(state) || !Number.isSafeInteger(ppid) || ppid < 0 || !Number.isSafeInteger(startTime) || startTime < 0) return undefined;
  return { pid, comm: text.slice(open + 2, close), state, ppid, startTime };
}
