import { constants as fsConstants, promises as fsp, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import path from 'node:path';
import { invalidArgument, isErrno, withContext } from '../errors.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { parseConfTemplate } from './conf-template.js';
import { parseNetworkConfig } from './config.js';
import { type PodCidr, parsePodCidrs, routesFor } from './pod-cidr.js';

/** The file the rendered template becomes in the conf dir (sorted early, like containerd's 10-containerd-net). */
export const RENDERED_CONF_NAME = '10-cricket-net.conflist';
const MAX_TEMPLATE_BYTES = 64 * 1024;
const MAX_SAVED_BYTES = 1024;

/**
 * Reads an operator's template: a regular file (not a FIFO or device, which could block or be
 * endless), bounded in size. Synchronous: it runs when a pod CIDR arrives, rarely.
 */
export function readTemplateFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    throw withContext(`read CNI conf template ${file}`, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw invalidArgument(`CNI conf template ${file} is not a regular file`);
    if (st.size > MAX_TEMPLATE_BYTES) throw invalidArgument(`CNI conf template ${file} is larger than ${MAX_TEMPLATE_BYTES} bytes`);
    const buf = Buffer.alloc(Number(st.size));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The template rendered for `ranges` with containerd's values (`.PodCIDR` the first range,
 * `.PodCIDRRanges` all, `.Routes` a default route per family), checked to be a usable conflist.
 */
export function renderConfForPodCidrs(template: string, templateFile: string, ranges: readonly PodCidr[]): string {
  const cidrs = ranges.map((r) => r.cidr);
  let text: string;
  try {
    text = parseConfTemplate(template, templateFile)({ PodCIDR: cidrs[0] ?? '', PodCIDRRanges: cidrs, Routes: routesFor(ranges) });
  } catch (err) {
    throw invalidArgument(`CNI conf template: ${(err as Error).message}`);
  }
  try {
    parseNetworkConfig(text, `${templateFile} rendered for ${cidrs.join(',')}`);
  } catch (err) {
    throw invalidArgument(`CNI conf template does not render to a valid network config list: ${(err as Error).message}`);
  }
  return text;
}

/** Writes the rendered list into the conf dir in one rename, so the loader never reads half a file. */
export async function writeRenderedConf(confDir: string, text: string): Promise<string> {
  await fsp.mkdir(confDir, { recursive: true, mode: 0o755 });
  const file = path.join(confDir, RENDERED_CONF_NAME);
  await writeFileAtomic(file, text, { mode: 0o600, syncDir: true });
  return file;
}

/** What is kept across restarts of cricket: kubelet sends the pod CIDR again only when it changes. */
export interface SavedPodCidr {
  ranges: PodCidr[];
  /** The embedded network's bridge, when a CIDR change moved new pods to another one. */
  bridge?: string;
}

const BRIDGE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

export async function savePodCidr(file: string, saved: SavedPodCidr): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const text = JSON.stringify({ podCidr: saved.ranges.map((r) => r.cidr).join(','), bridge: saved.bridge });
  await writeFileAtomic(file, `${text}\n`, { mode: 0o600 });
}

/** The saved pod CIDR, or no ranges when none was saved; throws when the file is unusable. */
export function loadSavedPodCidr(file: string): SavedPodCidr {
  let fd: number;
  try {
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { ranges: [] };
    throw err;
  }
  let text: string;
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${file} is not a regular file`);
    const buf = Buffer.alloc(MAX_SAVED_BYTES);
    const n = readSync(fd, buf, 0, buf.length, 0);
    text = buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
  const doc = JSON.parse(text) as { podCidr?: unknown; bridge?: unknown };
  if (typeof doc.podCidr !== 'string') throw new Error(`${file}: no podCidr`);
  if (doc.bridge !== undefined && (typeof doc.bridge !== 'string' || !BRIDGE_RE.test(doc.bridge))) throw new Error(`${file}: bad bridge name`);
  return { ranges: parsePodCidrs(doc.podCidr), bridge: doc.bridge };
}
