import { release } from 'node:os';
import { run } from '../process/run.js';

/** What a runtime handler can do on this node, as Status reports it to kubelet. */
export interface HandlerFeatures {
  /** The `rro` mount option works: the runtime knows it and the kernel has mount_setattr(2). */
  recursiveReadOnlyMounts: boolean;
  /** User namespaces for pods: the runtime makes them and can idmap mounts. */
  userNamespaces: boolean;
  /**
   * The runtime is runc, whose created container waits on an exec fifo in its state directory:
   * StartContainer opens that fifo itself (exec-fifo.ts) instead of running `runc start`.
   */
  execFifoStart: boolean;
  /**
   * The runtime is runc 1.x, whose state.json names a container's cgroups: a container whose init
   * has ended is deleted by removing them and its state directory (delete-stopped.ts).
   */
  deletesStoppedDirectly: boolean;
  /**
   * The runtime is runc 1.x, which reads config.json once, as `runc create` begins: it can be
   * started before the spec exists and be given it through a pipe (spec-pipe.ts).
   */
  readsSpecOnce: boolean;
  /**
   * The runtime is runc 1.0 or 1.1, whose `runc init` copies the runc binary into a sealed memfd
   * at every container start unless it already runs from one (sealed-runtime.ts gives it one).
   */
  copiesItselfAtInit: boolean;
  /** Why a feature is off, for logs and error messages. */
  notes: string[];
}

/** The parts of `<runtime> features` (OCI runtime-spec features.md) cricket looks at. */
interface FeaturesDocument {
  mountOptions?: unknown;
  linux?: { namespaces?: unknown; mountExtensions?: { idmap?: { enabled?: unknown } } };
  annotations?: Record<string, unknown>;
}

/** runc names itself in its features document with this annotation. */
const RUNC_VERSION_ANNOTATION = 'org.opencontainers.runc.version';

const MAX_FEATURES_OUTPUT = 1 << 20;

/**
 * mount_setattr(2) with MOUNT_ATTR_RDONLY and AT_RECURSIVE came with Linux 5.12; the runtime
 * needs it to make a whole mount tree read-only.
 */
export function kernelHasMountSetattr(kernelRelease: string = release()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 5 || (major === 5 && minor >= 12);
}

/**
 * Reads the JSON a runtime prints for `features`. A runtime without that command (crun before
 * 1.9), or with output cricket cannot read, is credited with nothing: no feature is claimed
 * that was not seen.
 */
export function parseFeatures(output: string | undefined, kernelOk: boolean): HandlerFeatures {
  const notes: string[] = [];
  let doc: FeaturesDocument | undefined;
  if (output === undefined) notes.push('the runtime has no `features` command');
  else if (output.length > MAX_FEATURES_OUTPUT) notes.push('the runtime\'s `features` output is too large');
  else {
    try {
      const parsed = JSON.parse(output) as unknown;
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) doc = parsed as FeaturesDocument;
      else notes.push('the runtime\'s `features` output is not a JSON object');
    } catch {
      notes.push('the runtime\'s `features` output is not JSON');
    }
  }
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const rroOption = strings(doc?.mountOptions).includes('rro');
  if (doc && !rroOption) notes.push('the runtime does not know the rro mount option');
  if (!kernelOk) notes.push('the kernel has no mount_setattr (Linux 5.12 or later)');
  const userNs = strings(doc?.linux?.namespaces).includes('user');
  const idmap = doc?.linux?.mountExtensions?.idmap?.enabled === true;
  if (doc && !userNs) notes.push('the runtime does not make user namespaces');
  if (doc && userNs && !idmap) notes.push('the runtime has no idmapped mounts');
  const annotations = doc?.annotations;
  const runcVersion = typeof annotations === 'object' && annotations !== null ? annotations[RUNC_VERSION_ANNOTATION] : undefined;
  // runc 1.x: the exec fifo has been how a created container waits since runc 1.0.
  const execFifoStart = typeof runcVersion === 'string' && /^1\./.test(runcVersion);
  const copiesItselfAtInit = typeof runcVersion === 'string' && /^1\.[01]\./.test(runcVersion);
  return { recursiveReadOnlyMounts: rroOption && kernelOk, userNamespaces: userNs && idmap, execFifoStart, deletesStoppedDirectly: execFifoStart, readsSpecOnce: execFifoStart, copiesItselfAtInit, notes };
}

/** Asks the runtime binary what it supports, once, at start-up. */
export async function probeFeatures(binary: string, timeoutMs: number): Promise<HandlerFeatures> {
  // Asked at start-up: a runtime that hangs here must not hold the daemon for long.
  const output = await run(binary, ['features'], { timeoutMs: Math.min(timeoutMs, 10_000) }).then((r) => r.stdout, () => undefined);
  return parseFeatures(output, kernelHasMountSetattr());
}
