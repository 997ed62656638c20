/** The credentials of a process as /proc/<pid>/status shows them. */
export interface ProcessIds {
  /** Effective ids: what the kernel checks access with. */
  uid: number;
  gid: number;
  groups: number[];
}

const MAX_GROUPS = 65_536;

/**
 * Parses the Uid, Gid and Groups lines of /proc/<pid>/status ("Uid:\treal\teffective\tsaved\tfs").
 * Undefined when a line is missing or malformed: a guess would be reported as the truth.
 */
export function parseProcStatusIds(text: string): ProcessIds | undefined {
  const line = (key: string) => text.split('\n').find((l) => l.startsWith(`${key}:`))?.slice(key.length + 1).trim();
  const ids = (value: string | undefined, max: number): number[] | undefined => {
    if (value === undefined) return undefined;
    const fields = value ? value.split(/\s+/) : [];
    if (fields.length > max || !fields.every((f) => /^\d{1,10}$/.test(f))) return undefined;
    return fields.map(Number);
  };
  const uids = ids(line('Uid'), 4);
  const gids = ids(line('Gid'), 4);
  const groups = ids(line('Groups'), MAX_GROUPS);
  if (!uids || uids.length < 2 || !gids || gids.length < 2 || !groups) return undefined;
  return { uid: uids[1]!, gid: gids[1]!, groups };
}
