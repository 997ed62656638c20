import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, isAbsolute, join } from 'node:path';
import { invalidArgument } from '../errors.js';
import type { ContainerConfig } from '../gen/runtime/v1/api.js';
import { logger } from '../log/logger.js';
import { deviceNumbers } from '../oci/device-numbers.js';
import type { CdiDeviceNode, CdiEdits } from '../oci/spec/cdi.js';
import type { OciHookName } from '../oci/spec-types.js';

/**
 * CDI (Container Device Interface) devices: named `vendor.com/class=name`, described by spec
 * files in the CDI directories, each carrying the container edits that give a container that
 * device. Spec files are read when a container asks for a device, so a driver that writes one
 * is seen at once; files are bounded in size and number, and a file that is not valid is
 * skipped with a warning (its devices are then unknown).
 */
const MAX_FILES_PER_DIR = 1000;
const MAX_FILE_BYTES = 1 << 20;
const MAX_DEVICES = 128;
const MAX_ITEMS = 256;
const MAX_STRING = 4096;

const VENDOR = '[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?';
const CLASS = '[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?';
const NAME = '[A-Za-z0-9](?:[A-Za-z0-9_.:-]*[A-Za-z0-9])?';
const KIND_RE = new RegExp(`^${VENDOR}/${CLASS}$`);
const NAME_RE = new RegExp(`^${NAME}$`);
const QUALIFIED_RE = new RegExp(`^(${VENDOR}/${CLASS})=(${NAME})$`);
const HOOK_NAMES = new Set<OciHookName>(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
const ANNOTATION_PREFIX = 'cdi.k8s.io/';

/** Device names a container asks for: CDI_devices, then the values of `cdi.k8s.io/*` annotations. */
export function requestedCdiDevices(config: ContainerConfig): string[] {
  const names = config.CDIDevices.map((d) => d.name);
  for (const [key, value] of Object.entries(config.annotations)) {
    if (key.startsWith(ANNOTATION_PREFIX)) names.push(...value.split(',').map((n) => n.trim()).filter(Boolean));
  }
  if (names.length > MAX_DEVICES) throw invalidArgument(`${names.length} CDI devices requested; at most ${MAX_DEVICES}`);
  return [...new Set(names)];
}

interface RawEdits {
  env?: unknown;
  deviceNodes?: unknown;
  mounts?: unknown;
  hooks?: unknown;
  additionalGIDs?: unknown;
}

interface LoadedSpec {
  file: string;
  kind: string;
  edits: RawEdits | undefined;
  devices: Map<string, RawEdits | undefined>;
}

class SpecError extends Error {}

const obj = (v: unknown, what: string): Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SpecError(`${what} is not an object`);
  return v as Record<string, unknown>;
};
const list = (v: unknown, what: string): unknown[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new SpecError(`${what} is not a list`);
  if (v.length > MAX_ITEMS) throw new SpecError(`${what} has more than ${MAX_ITEMS} entries`);
  return v;
};
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || v.length > MAX_STRING || v.includes('\0')) throw new SpecError(`${what} is not a string`);
  return v;
};
const absolute = (v: unknown, what: string): string => {
  const s = str(v, what);
  if (!isAbsolute(s)) throw new SpecError(`${what} "${s}" is not absolute`);
  return s;
};
const optInt = (v: unknown, what: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new SpecError(`${what} is not a non-negative integer`);
  return v;
};

function parseSpec(text: string, file: string): LoadedSpec {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // YAML spec files are read when they are written in YAML's JSON form; cricket carries no YAML parser.
    throw new SpecError(`not JSON${/\.ya?ml$/.test(file) ? ' (YAML other than its JSON form is not read)' : ''}: ${(err as Error).message}`);
  }
  const spec = obj(doc, 'the spec');
  str(spec.cdiVersion, 'cdiVersion');
  const kind = str(spec.kind, 'kind');
  if (!KIND_RE.test(kind)) throw new SpecError(`kind "${kind}" is not vendor/class`);
  const devices = new Map<string, RawEdits | undefined>();
  for (const [i, d] of list(spec.devices, 'devices').entries()) {
    const device = obj(d, `devices[${i}]`);
    const name = str(device.name, `devices[${i}].name`);
    if (!NAME_RE.test(name)) throw new SpecError(`device name "${name}" is not valid`);
    devices.set(name, device.containerEdits === undefined ? undefined : (obj(device.containerEdits, `${name}.containerEdits`) as RawEdits));
  }
  return { file, kind, devices, edits: spec.containerEdits === undefined ? undefined : (obj(spec.containerEdits, 'containerEdits') as RawEdits) };
}

/** Every valid spec in `dirs`, by kind; a later directory (and a later file) wins a device name. */
async function loadSpecs(dirs: readonly string[]): Promise<Map<string, LoadedSpec[]>> {
  const byKind = new Map<string, LoadedSpec[]>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => ['.json', '.yaml', '.yml'].includes(extname(n))).sort();
    } catch {
      continue; // A missing CDI directory holds no devices.
    }
    for (const name of names.slice(0, MAX_FILES_PER_DIR)) {
      const file = join(dir, name);
      try {
        const st = await stat(file);
        if (!st.isFile()) throw new SpecError('not a regular file');
        if (st.size > MAX_FILE_BYTES) throw new SpecError(`larger than ${MAX_FILE_BYTES} bytes`);
        const spec = parseSpec(await readFile(file, 'utf8'), file);
        byKind.set(spec.kind, [...(byKind.get(spec.kind) ?? []), spec]);
      } catch (err) {
        logger.warn({ file, err: (err as Error).message }, 'CDI spec file skipped');
      }
    }
  }
  return byKind;
}

async function deviceNode(raw: unknown, what: string): Promise<CdiDeviceNode> {
  const node = obj(raw, what);
  const path = absolute(node.path, `${what}.path`);
  const hostPath = node.hostPath === undefined ? path : absolute(node.hostPath, `${what}.hostPath`);
  const permissions = node.permissions === undefined ? 'rwm' : str(node.permissions, `${what}.permissions`);
  if (!/^[rwm]{1,3}$/.test(permissions)) throw new SpecError(`${what}.permissions "${permissions}" is not a mix of r, w and m`);
  let type = node.type === undefined ? undefined : str(node.type, `${what}.type`);
  let major = optInt(node.major, `${what}.major`);
  let minor = optInt(node.minor, `${what}.minor`);
  let fileMode = optInt(node.fileMode, `${what}.fileMode`);
  const st = await stat(hostPath, { bigint: true }).catch(() => undefined);
  if (st) {
    if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new SpecError(`${what}: ${hostPath} is not a device node`);
    const numbers = deviceNumbers(st.rdev);
    type ??= st.isCharacterDevice() ? 'c' : 'b';
    major ??= numbers.major;
    minor ??= numbers.minor;
    fileMode ??= Number(st.mode & 0o777n);
  }
  if (type === 'u') type = 'c';
  if (type !== 'c' && type !== 'b') throw new SpecError(`${what}: type "${type ?? ''}" of ${path} is not c or b${st ? '' : ` (and ${hostPath} does not exist)`}`);
  if (major === undefined || minor === undefined) throw new SpecError(`${what}: ${hostPath} does not exist and no major/minor are given`);
  return { path, type, major, minor, fileMode, uid: optInt(node.uid, `${what}.uid`), gid: optInt(node.gid, `${what}.gid`), permissions };
}

async function checkedEdits(raw: RawEdits | undefined, what: string): Promise<CdiEdits> {
  const edits: CdiEdits = { env: [], deviceNodes: [], mounts: [], hooks: [], additionalGids: [] };
  if (!raw) return edits;
  for (const [i, e] of list(raw.env, `${what}.env`).entries()) {
    const entry = str(e, `${what}.env[${i}]`);
    if (!/^[^=]+=/.test(entry)) throw new SpecError(`${what}.env[${i}] "${entry}" is not NAME=value`);
    edits.env.push(entry);
  }
  for (const [i, n] of list(raw.deviceNodes, `${what}.deviceNodes`).entries()) edits.deviceNodes.push(await deviceNode(n, `${what}.deviceNodes[${i}]`));
  for (const [i, m] of list(raw.mounts, `${what}.mounts`).entries()) {
    const mount = obj(m, `${what}.mounts[${i}]`);
    edits.mounts.push({
      hostPath: str(mount.hostPath, `${what}.mounts[${i}].hostPath`),
      containerPath: absolute(mount.containerPath, `${what}.mounts[${i}].containerPath`),
      type: mount.type === undefined ? undefined : str(mount.type, `${what}.mounts[${i}].type`),
      options: list(mount.options, `${what}.mounts[${i}].options`).map((o, j) => str(o, `${what}.mounts[${i}].options[${j}]`)),
    });
  }
  for (const [i, h] of list(raw.hooks, `${what}.hooks`).entries()) {
    const hook = obj(h, `${what}.hooks[${i}]`);
    const hookName = str(hook.hookName, `${what}.hooks[${i}].hookName`) as OciHookName;
    if (!HOOK_NAMES.has(hookName)) throw new SpecError(`${what}.hooks[${i}]: unknown hook "${hookName}"`);
    edits.hooks.push({
      hookName,
      path: absolute(hook.path, `${what}.hooks[${i}].path`),
      args: hook.args === undefined ? undefined : list(hook.args, `${what}.hooks[${i}].args`).map((a, j) => str(a, `${what}.hooks[${i}].args[${j}]`)),
      env: hook.env === undefined ? undefined : list(hook.env, `${what}.hooks[${i}].env`).map((a, j) => str(a, `${what}.hooks[${i}].env[${j}]`)),
      timeout: optInt(hook.timeout, `${what}.hooks[${i}].timeout`),
    });
  }
  for (const [i, g] of list(raw.additionalGIDs, `${what}.additionalGIDs`).entries()) edits.additionalGids.push(optInt(g, `${what}.additionalGIDs[${i}]`)!);
  return edits;
}

/**
 * The container edits for the named devices: each spec's own edits once, then each device's.
 * A name that is not `vendor/class=name`, or names no device in the CDI directories, is
 * INVALID_ARGUMENT; so is a device whose edits are not valid.
 */
export async function resolveCdiDevices(dirs: readonly string[], names: readonly string[]): Promise<CdiEdits[]> {
  if (names.length === 0) return [];
  const specs = await loadSpecs(dirs);
  const result: CdiEdits[] = [];
  const specsDone = new Set<string>();
  for (const name of names) {
    const m = QUALIFIED_RE.exec(name);
    if (!m) throw invalidArgument(`CDI device "${name}" is not a fully qualified name (vendor.com/class=name)`);
    const [, kind, device] = m as unknown as [string, string, string];
    const spec = (specs.get(kind) ?? []).filter((s) => s.devices.has(device)).pop();
    if (!spec) throw invalidArgument(`CDI device "${name}" is not in any spec in ${dirs.join(', ')}`);
    try {
      if (!specsDone.has(spec.file)) {
        specsDone.add(spec.file);
        result.push(await checkedEdits(spec.edits, `${spec.file} containerEdits`));
      }
      result.push(await checkedEdits(spec.devices.get(device), `${spec.file} device ${device}`));
    } catch (err) {
      if (err instanceof SpecError) throw invalidArgument(`CDI device "${name}": ${err.message}`);
      throw err;
    }
  }
  return result;
}
