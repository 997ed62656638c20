import { invalidArgument } from '../errors.js';
import { readImageFile } from '../image/image-file.js';
import type { ProcessUser } from '../oci/spec/types.js';

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 4 || line.startsWith('#')) continue;
    const uid = Number.parseInt(fields[2]!, 10);
    const gid = Number.parseInt(fields[3]!, 10);
    if (Number.isInteger(uid) && Number.isInteger(gid)) entries.push({ name: fields[0]!, uid, gid });
  }
  return entries;
}

export function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 3 || line.startsWith('#')) continue;
    const gid = Number.parseInt(fields[2]!, 10);
    if (!Number.isInteger(gid)) continue;
    entries.push({ name: fields[0]!, gid, members: (fields[3] ?? '').split(',').filter(Boolean) });
  }
  return entries;
}

const isNumeric = (s: string): boolean => /^\d+$/.test(s);

/** The text of a file of the image, '' when it has none; a FIFO, device or huge file is an error. */
async function imageText(layerDirs: string[], relPath: string): Promise<string> {
  return (await readImageFile(layerDirs, relPath))?.toString('utf8') ?? '';
}

interface AccountFiles {
  passwd: PasswdEntry[];
  groups: GroupEntry[];
}

/** Images whose account files are kept parsed; the oldest goes first beyond this. */
const MAX_CACHED_IMAGES = 64;
const accountFiles = new Map<string, Promise<AccountFiles>>();

/**
 * The image's /etc/passwd and /etc/group, parsed. Layer directories are named by their digest and
 * never change, so one read serves every container of the image; a failed read is not kept.
 */
function imageAccountFiles(layerDirs: string[]): Promise<AccountFiles> {
  const key = layerDirs.join('\0');
  let files = accountFiles.get(key);
  if (!files) {
    // Both files are read (and so checked) even when a numeric uid:gid makes them moot: runc
    // reads them too, inside the container, and would block on a FIFO there.
    files = (async () => ({
      passwd: parsePasswd(await imageText(layerDirs, 'etc/passwd')),
      groups: parseGroup(await imageText(layerDirs, 'etc/group')),
    }))();
    accountFiles.set(key, files);
    files.catch(() => accountFiles.delete(key));
    if (accountFiles.size > MAX_CACHED_IMAGES) accountFiles.delete(accountFiles.keys().next().value!);
  }
  return files;
}

export interface UserRequest {
  /** The image's USER ("", "name", "uid", "uid:gid", "name:group"). */
  imageUser: string;
  runAsUser?: number;
  runAsUsername?: string;
  runAsGroup?: number;
  supplementalGroups?: number[];
  /**
   * SupplementalGroupsPolicy Strict: only the requested groups; the image's /etc/group
   * memberships of the user (Merge, the default) are left out.
   */
  strictGroups?: boolean;
}

/**
 * Resolves the process user the way kubelet users expect: the security context wins over the
 * image's USER; names are looked up in the image's own /etc/passwd and /etc/group; the user's
 * groups from /etc/group are added, as a login would, unless the policy is Strict.
 */
export async function resolveUser(layerDirs: string[], req: UserRequest): Promise<ProcessUser> {
  let userPart: string;
  let groupPart: string | undefined;
  if (req.runAsUser !== undefined) userPart = String(req.runAsUser);
  else if (req.runAsUsername) userPart = req.runAsUsername;
  else {
    const [u, g] = (req.imageUser || '0').split(':');
    userPart = u || '0';
    groupPart = g;
  }
  const { passwd, groups } = await imageAccountFiles(layerDirs);
  let uid: number;
  let gid: number | undefined;
  let name: string | undefined;
  if (isNumeric(userPart)) {
    uid = Number.parseInt(userPart, 10);
    const entry = passwd.find((p) => p.uid === uid);
    gid = entry?.gid;
    name = entry?.name;
  } else {
    const entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw invalidArgument(`user "${userPart}" is not in the image's /etc/passwd`);
    uid = entry.uid;
    gid = entry.gid;
    name = entry.name;
  }
  if (req.runAsGroup !== undefined) gid = req.runAsGroup;
  else if (groupPart !== undefined) {
    if (isNumeric(groupPart)) gid = Number.parseInt(groupPart, 10);
    else {
      const group = groups.find((g) => g.name === groupPart);
      if (!group) throw invalidArgument(`group "${groupPart}" is not in the image's /etc/group`);
      gid = group.gid;
    }
  }
  const finalGid = gid ?? 0;
  const additional = new Set<number>();
  if (name && !req.strictGroups) for (const g of groups) if (g.members.includes(name) && g.gid !== finalGid) additional.add(g.gid);
  for (const g of req.supplementalGroups ?? []) if (g !== finalGid) additional.add(g);
  return { uid, gid: finalGid, additionalGids: [...additional] };
}
