// A seeded fuzz campaign against a running cricket daemon: random and boundary requests for every
// RPC of RuntimeService and ImageService, walked from proto/ with @grpc/proto-loader and encoded
// here byte by byte, so requests can carry what no well-behaved client sends (invalid UTF-8,
// wrong wire types, repeated singular fields, unknown fields, truncation, random bytes).
//
// Requests that make pods and containers start from a valid base and are mutated a little, so
// some succeed and the fuzzer reaches deep code; the number of pods is bounded. Paths in the
// requests point into the campaign's own directory, or are invalid: nothing is ever meant to be
// written anywhere else, and the caller checks that.
import { mkdirSync } from 'node:fs';
import { join, normalize } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition, EnumTypeDefinition } from '@grpc/proto-loader';
import { criPackageDefinition } from '../client/cri.js';
import { BUSYBOX, TEST_CGROUP_PARENT } from './cricket.js';

/** Marker of every path a request could try to escape to; the caller looks for it afterwards. */
export const ESCAPE_MARKER = 'cricket-fuzz-escape';

interface FieldDesc {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface TypeDesc {
  name: string;
  field: FieldDesc[];
  nestedType: TypeDesc[];
  enumType: { name: string; value: { number: number }[] }[];
  options?: { mapEntry?: boolean } | null;
}

interface Method {
  service: string;
  name: string;
  path: string;
  responseStream: boolean;
  request: TypeDesc;
}

/** xorshift32: small, fast and the same sequence for the same seed everywhere. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 0x1_0000_0000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

// ---- schema walk -------------------------------------------------------------------------------

const pkg = () => criPackageDefinition();

function topLevelType(name: string): TypeDesc | undefined {
  const def = pkg()[`runtime.v1.${name}`] as MessageTypeDefinition<unknown, unknown> | undefined;
  return def && def.format.includes('DescriptorProto') && !def.format.includes('Enum') ? (def.type as TypeDesc) : undefined;
}

function enumValues(owner: TypeDesc, name: string): number[] | undefined {
  const nested = owner.enumType.find((e) => e.name === name);
  if (nested) return nested.value.map((v) => v.number);
  const def = pkg()[`runtime.v1.${name}`] as EnumTypeDefinition | undefined;
  if (def && def.format.includes('EnumDescriptorProto')) return (def.type as { value: { number: number }[] }).value.map((v) => v.number);
  return undefined;
}

function messageType(owner: TypeDesc, name: string): TypeDesc {
  const nested = owner.nestedType.find((t) => t.name === name);
  const found = nested ?? topLevelType(name);
  if (!found) throw new Error(`fuzz: unknown message type ${name} in ${owner.name}`);
  return found;
}

/** Every RPC of both services, as the proto declares them. */
export function criMethods(): Method[] {
  const methods: Method[] = [];
  for (const service of ['RuntimeService', 'ImageService']) {
    const def = pkg()[`runtime.v1.${service}`] as Record<string, grpc.MethodDefinition<unknown, unknown> & { requestType: MessageTypeDefinition<unknown, unknown> }>;
    for (const [name, m] of Object.entries(def)) {
      methods.push({ service, name, path: m.path, responseStream: m.responseStream, request: m.requestType.type as TypeDesc });
    }
  }
  return methods;
}

// ---- values --------------------------------------------------------------------------------------

/** A string field's value: a JS string, or raw bytes (which may not be UTF-8). */
type Str = string | Buffer;
type Value = Str | bigint | number | boolean | Msg | Value[] | Map<Str, Value>;
export interface Msg {
  [field: string]: Value | undefined;
}

const INVALID_UTF8 = [Buffer.from([0xff, 0xfe]), Buffer.from([0x61, 0xc3]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc0, 0xaf]), Buffer.from([0x80])];
const INTS: bigint[] = [
  0n, 1n, -1n, 2n, 7n, 65535n, 65536n, 2n ** 31n - 1n, -(2n ** 31n), 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 32n - 2n,
  2n ** 53n - 1n, 2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n), 1000n, 86400n, 2147484n, -1000n,
];

export interface Pools {
  dir: string;
  ids: () => { pods: string[]; containers: string[] };
}

function randomAscii(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(32 + rng.int(95));
  return s;
}

function randomString(rng: Rng, pools: Pools): Str {
  switch (rng.int(16)) {
    case 0: return '';
    case 1: return rng.pick(['a', 'default', 'x', 'runc', 'fuzz', 'sh', 'true']);
    case 2: return 'a\0b';
    case 3: return rng.pick(['..', '.', '../..', `../../../${ESCAPE_MARKER}`, `a/../../${ESCAPE_MARKER}`]);
    case 4: return rng.pick(['/', `/etc/${ESCAPE_MARKER}`, `/tmp/${ESCAPE_MARKER}`, `/${ESCAPE_MARKER}`, '/proc/self/mem', '/dev/zero']);
    case 5: return rng.pick(INVALID_UTF8);
    case 6: return 'x'.repeat(rng.pick([64, 65, 254, 257, 4097]));
    case 7: return rng.chance(0.1) ? 'y'.repeat(300_000) : 'z'.repeat(70_000);
    case 8: return rng.pick(['a;b=c', 'K8S_POD_NAME=x', 'a b', 'line\nnext', '__proto__', 'constructor', 'ünïcødé', '\u{1f600}']);
    case 9: return `${pools.dir}/${ESCAPE_MARKER}-${rng.int(100)}`;
    case 10: {
      const { pods, containers } = pools.ids();
      const all = [...pods, ...containers];
      return all.length ? rng.pick(all) : 'f'.repeat(64);
    }
    case 11: {
      const { pods, containers } = pools.ids();
      const all = [...pods, ...containers];
      return all.length ? rng.pick(all).slice(0, 1 + rng.int(12)) : 'abc';
    }
    default: return randomAscii(rng, rng.int(24));
  }
}

function randomInt(rng: Rng): bigint {
  return rng.chance(0.7) ? rng.pick(INTS) : BigInt(rng.int(2000) - 1000);
}

/**
 * Values for fields whose valid forms would reach outside the campaign's directory, the test's
 * network or cgroup, or the registry on loopback: only contained or invalid values are sent.
 */
function guardedValue(field: string, rng: Rng, pools: Pools): Value | undefined {
  const dir = pools.dir;
  switch (field) {
    case 'log_directory':
      return rng.pick<Str>([join(dir, 'logs', `d${rng.int(8)}`), 'logs/relative', `${dir}/logs/../../${ESCAPE_MARKER}`, `${dir}/logs/a\0b`, '/', `${dir}/logs/x/`, '', Buffer.from([0x2f, 0xff])]);
    case 'log_path':
      return rng.pick<Str>(['c/0.log', `../../${ESCAPE_MARKER}/0.log`, `/${ESCAPE_MARKER}.log`, 'a/../../b', 'x\0y', '.', '', 'ok.log', Buffer.from([0x61, 0xff])]);
    case 'cgroup_parent':
      return rng.pick(['/' + TEST_CGROUP_PARENT, `/${TEST_CGROUP_PARENT}/../..`, '../x', 'a\0b']);
    case 'host_path':
      return rng.pick<Str>([join(dir, 'host', `h${rng.int(4)}`), '', 'relative', `${dir}/host/../../${ESCAPE_MARKER}`, '/\0', join(dir, 'fifo')]);
    case 'host_port':
      return rng.pick([0, 0, -1, 65536, 2 ** 31 - 1]);
    case 'host_ip':
      return rng.pick(['', '127.0.0.1', 'not-an-ip', '::1', '1.2.3.4\0']);
    case 'localhost_ref':
    case 'seccomp_profile_path':
    case 'apparmor_profile':
      return rng.pick(['', 'relative', '/nonexistent/profile.json', '/dev/zero', join(dir, 'fifo'), 'localhost//dev/zero', `localhost/${join(dir, 'fifo')}`, 'runtime/default', 'unconfined']);
    case 'location':
      return join(dir, 'checkpoint', ESCAPE_MARKER);
    case 'image':
      // PullImage must never reach a registry off this machine: only refusals and loopback.
      return rng.pick<Str>(['', '127.0.0.1:9/none:1', 'localhost:9/x@sha256:' + '0'.repeat(64), 'UPPER/Case:tag', '@@@', 'a\0b', 'x'.repeat(5000), Buffer.from([0xff])]);
    case 'server_address':
      return rng.pick(['', '127.0.0.1:9', 'a\0']);
    case 'pod_cidr':
      return rng.pick(['', '10.0.0.0/8', 'garbage', '::/0', '1.2.3.4/33']);
    default:
      return undefined;
  }
}

function randomScalar(f: FieldDesc, owner: TypeDesc, rng: Rng, pools: Pools): Value {
  switch (f.type) {
    case 'TYPE_STRING':
      return randomString(rng, pools);
    case 'TYPE_BYTES':
      return rng.chance(0.3) ? Buffer.from('a\0b') : rng.bytes(rng.int(16));
    case 'TYPE_BOOL':
      return rng.chance(0.05) ? 2n : rng.chance(0.5);
    case 'TYPE_ENUM': {
      const known = enumValues(owner, f.typeName) ?? [0];
      return rng.chance(0.8) ? rng.pick(known) : rng.pick([99, -1, 2 ** 31 - 1, known.length]);
    }
    default:
      return randomInt(rng);
  }
}

export function randomMessage(type: TypeDesc, rng: Rng, pools: Pools, depth = 0): Msg {
  const msg: Msg = {};
  for (const f of type.field) {
    if (!rng.chance(depth === 0 ? 0.8 : 0.5)) continue;
    msg[f.name] = randomField(f, type, rng, pools, depth);
  }
  return msg;
}

function randomField(f: FieldDesc, owner: TypeDesc, rng: Rng, pools: Pools, depth: number): Value {
  const one = (): Value => {
    const guarded = f.type === 'TYPE_MESSAGE' ? undefined : guardedValue(f.name, rng, pools);
    if (guarded !== undefined) return guarded;
    if (f.type === 'TYPE_MESSAGE') {
      const sub = messageType(owner, f.typeName);
      if (sub.options?.mapEntry) return randomMap(sub, rng, pools, depth);
      return depth > 6 ? {} : randomMessage(sub, rng, pools, depth + 1);
    }
    return randomScalar(f, owner, rng, pools);
  };
  if (f.label !== 'LABEL_REPEATED') return one();
  const sub = f.type === 'TYPE_MESSAGE' ? messageType(owner, f.typeName) : undefined;
  if (sub?.options?.mapEntry) return one();
  // Now and then a long list, of one small value: counts are bounded, not only sizes, and the
  // message must stay well below the transport's 16 MiB.
  if (rng.chance(0.02)) {
    const small = f.type === 'TYPE_MESSAGE' ? {} : f.type === 'TYPE_STRING' || f.type === 'TYPE_BYTES' ? 'a' : 1n;
    return Array.from({ length: 5000 }, () => small);
  }
  return Array.from({ length: rng.int(4) }, one);
}

function randomMap(entry: TypeDesc, rng: Rng, pools: Pools, depth: number): Map<Str, Value> {
  const map = new Map<Str, Value>();
  const n = rng.chance(0.02) ? 2000 : rng.int(4);
  const valueField = entry.field.find((x) => x.number === 2)!;
  for (let i = 0; i < n; i++) {
    const key = n > 10 ? `k${i}` : randomString(rng, pools);
    map.set(key, n > 10 ? 'v' : randomField(valueField, entry, rng, pools, depth + 1));
  }
  return map;
}

// ---- encoding ------------------------------------------------------------------------------------

class Writer {
  private parts: Buffer[] = [];
  varint(value: bigint): void {
    let v = BigInt.asUintN(64, value);
    const out: number[] = [];
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v) b |= 0x80;
      out.push(b);
    } while (v);
    this.parts.push(Buffer.from(out));
  }
  tag(number: number, wire: number): void {
    this.varint(BigInt(number) * 8n + BigInt(wire));
  }
  raw(b: Buffer): void {
    this.parts.push(b);
  }
  bytes(b: Buffer): void {
    this.varint(BigInt(b.length));
    this.parts.push(b);
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const VARINT_TYPES = new Set(['TYPE_INT32', 'TYPE_INT64', 'TYPE_UINT32', 'TYPE_UINT64', 'TYPE_BOOL', 'TYPE_ENUM']);

function toBig(v: Value): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  return 0n;
}

function toBuf(v: Value): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(typeof v === 'string' ? v : String(v), 'utf8');
}

/** Encodes a message; with `rng`, a few fields go out damaged (wrong wire type, twice, unknown). */
export function encode(type: TypeDesc, msg: Msg, rng?: Rng): Buffer {
  const w = new Writer();
  for (const f of type.field) {
    const v = msg[f.name];
    if (v === undefined) continue;
    const items = v instanceof Map ? [...v.entries()].map(([k, val]) => ({ key: k, value: val }) as Msg) : Array.isArray(v) && f.label === 'LABEL_REPEATED' ? v : [v];
    const sub = f.type === 'TYPE_MESSAGE' ? messageType(type, f.typeName) : undefined;
    for (const item of items) {
      if (rng?.chance(0.01)) {
        // Wrong wire type for a known field.
        if (VARINT_TYPES.has(f.type)) {
          w.tag(f.number, 2);
          w.bytes(Buffer.from([1]));
        } else {
          w.tag(f.number, 0);
          w.varint(1n);
        }
        continue;
      }
      const times = rng?.chance(0.01) ? 2 : 1;
      for (let t = 0; t < times; t++) {
        if (sub) {
          w.tag(f.number, 2);
          w.bytes(encode(sub, (item ?? {}) as Msg, rng));
        } else if (VARINT_TYPES.has(f.type)) {
          w.tag(f.number, 0);
          w.varint(toBig(item as Value));
        } else {
          w.tag(f.number, 2);
          w.bytes(toBuf(item as Value));
        }
      }
    }
  }
  if (rng?.chance(0.02)) {
    // An unknown field, well formed: must be accepted and ignored.
    w.tag(900 + (rng.int(50)), 2);
    w.bytes(Buffer.from('unknown'));
  }
  return w.finish();
}

/** Damages encoded bytes: truncation, flipped bytes, appended garbage, a zero or end-group tag. */
function damage(bytes: Buffer, rng: Rng): Buffer {
  switch (rng.int(5)) {
    case 0: return bytes.subarray(0, rng.int(bytes.length + 1));
    case 1: {
      const b = Buffer.from(bytes);
      for (let i = 0; i < 1 + rng.int(3) && b.length; i++) b[rng.int(b.length)] = rng.int(256);
      return b;
    }
    case 2: return Buffer.concat([bytes, rng.bytes(1 + rng.int(8))]);
    case 3: return Buffer.concat([bytes, Buffer.from([rng.pick([0x00, 0x0c, 0x0b, 0x0e, 0x0f])])]);
    default: return Buffer.concat([Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x80, 0x10]), bytes]);
  }
}

// ---- valid bases ---------------------------------------------------------------------------------

/** The container's command: ends promptly on SIGTERM so StopContainer never waits long. */
const SLEEPER = ['sh', '-c', "trap 'exit 0' TERM; while :; do sleep 1; done"];

function basePod(dir: string, n: number): Msg {
  return {
    metadata: { name: `fz-${n}`, namespace: 'fuzz', uid: `uid-${n}`, attempt: 0n },
    hostname: `fz-${n}`,
    log_directory: join(dir, 'logs', `p${n}`),
    labels: new Map<Str, Value>([['app', 'fuzz']]),
    linux: { cgroup_parent: `/${TEST_CGROUP_PARENT}` },
  };
}

function baseContainer(n: number): Msg {
  return {
    metadata: { name: `c${n}`, attempt: 0n },
    image: { image: BUSYBOX },
    command: SLEEPER.slice(0, 2),
    args: SLEEPER.slice(2),
    log_path: `c${n}/0.log`,
    envs: [{ key: 'A', value: Buffer.from('1') }],
  };
}

/** Replaces one field somewhere in the message (or drops it), keeping the rest valid. */
function mutate(type: TypeDesc, msg: Msg, rng: Rng, pools: Pools, depth = 0): void {
  const f = rng.pick(type.field);
  const current = msg[f.name];
  if (f.name === 'cgroup_parent') {
    msg[f.name] = guardedValue(f.name, rng, pools);
    return;
  }
  if (current && f.type === 'TYPE_MESSAGE' && !(current instanceof Map) && !Array.isArray(current) && rng.chance(0.6) && depth < 6) {
    mutate(messageType(type, f.typeName), current as Msg, rng, pools, depth + 1);
    return;
  }
  if (rng.chance(0.15) && f.name !== 'linux') delete msg[f.name];
  else msg[f.name] = randomField(f, type, rng, pools, depth);
}

// ---- campaign ------------------------------------------------------------------------------------

export interface CampaignOptions {
  socket: string;
  /** Directory the campaign's paths live in (log directories, host paths). */
  dir: string;
  seed: number;
  count: number;
  concurrency?: number;
  /** Bound on RunPodSandbox calls made from the valid base (each makes at most one pod). */
  maxPods?: number;
  /** Bound on CreateContainer calls made from the valid base. */
  maxContainers?: number;
  deadlineMs?: number;
}

export interface CampaignReport {
  seed: number;
  requests: number;
  seconds: number;
  byCode: Record<string, number>;
  byMethod: Record<string, number>;
  /** Milliseconds spent waiting for each RPC's answers, summed. */
  msByMethod: Record<string, number>;
  podsMade: number;
  containersMade: number;
  /**
   * Answers that are not a typed status (UNKNOWN, INTERNAL, a broken connection), and calls that
   * ran out of time where nothing should wait (all but StopContainer and ExecSync).
   */
  suspicious: { index: number; method: string; code: string; details: string; request: string }[];
}

const CODE_NAMES = Object.fromEntries(Object.entries(grpc.status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k])) as Record<number, string>;

function raw(client: grpc.Client, m: Method, body: Buffer, deadlineMs: number): Promise<{ code: number; details: string; reply?: Buffer }> {
  const deadline = Date.now() + deadlineMs;
  const identity = (b: Buffer) => b;
  if (!m.responseStream) {
    return new Promise((resolve) => {
      client.makeUnaryRequest<Buffer, Buffer>(m.path, identity, identity, body, new grpc.Metadata(), { deadline }, (err, reply) => {
        if (err) resolve({ code: err.code, details: err.details });
        else resolve({ code: grpc.status.OK, details: '', reply });
      });
    });
  }
  return new Promise((resolve) => {
    const stream = client.makeServerStreamRequest<Buffer, Buffer>(m.path, identity, identity, body, new grpc.Metadata(), { deadline });
    let settled = false;
    const finish = (code: number, details: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, details });
    };
    // A stream that is still open after a moment has answered: end it from our side.
    const timer = setTimeout(() => {
      finish(grpc.status.OK, 'stream open');
      stream.cancel();
    }, 200);
    stream.on('data', () => undefined);
    stream.on('error', (err: grpc.ServiceError) => finish(err.code === grpc.status.CANCELLED && settled ? grpc.status.OK : err.code, err.details));
    stream.on('end', () => finish(grpc.status.OK, ''));
  });
}

/** A response's first string field (field 1): the id a create call returns. */
function firstString(reply: Buffer | undefined): string {
  if (!reply || reply.length < 2 || reply[0] !== 0x0a) return '';
  const n = reply[1]!;
  return reply.subarray(2, 2 + n).toString('utf8');
}

export async function runCampaign(opts: CampaignOptions): Promise<CampaignReport> {
  const rng = new Rng(opts.seed);
  const concurrency = opts.concurrency ?? 8;
  const maxPods = opts.maxPods ?? 30;
  const deadlineMs = opts.deadlineMs ?? 15_000;
  mkdirSync(join(opts.dir, 'logs'), { recursive: true });
  const pods: string[] = [];
  const containers: string[] = [];
  const pools: Pools = { dir: opts.dir, ids: () => ({ pods, containers }) };
  const methods = criMethods();
  const byName = new Map(methods.map((m) => [m.name, m]));
  const client = new grpc.Client(`unix:${opts.socket}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  const report: CampaignReport = { seed: opts.seed, requests: 0, seconds: 0, byCode: {}, byMethod: {}, msByMethod: {}, podsMade: 0, containersMade: 0, suspicious: [] };
  let podAttempts = 0;
  let containerAttempts = 0;
  const maxContainers = opts.maxContainers ?? 3 * maxPods;
  let podSeq = 0;
  let containerSeq = 0;

  /** The i-th request, drawn from the shared generator (requests are made in order, sent in parallel). */
  const make = (): { m: Method; body: Buffer } => {
    const roll = rng.next();
    // Pod and container creation from the valid base, a bounded number of times.
    if (roll < 0.04 && podAttempts < maxPods) {
      podAttempts++;
      const m = byName.get('RunPodSandbox')!;
      const config = basePod(opts.dir, podSeq++);
      const cfgType = messageType(m.request, 'PodSandboxConfig');
      for (let i = rng.int(3); i > 0; i--) mutate(cfgType, config, rng, pools);
      // The log directory kubelet would have made; a mutation may have replaced it.
      const logDir = config.log_directory;
      if (typeof logDir === 'string' && logDir.startsWith(join(opts.dir, 'logs')) && normalize(logDir) === logDir && !logDir.includes('\0')) {
        mkdirSync(logDir, { recursive: true });
      }
      return { m, body: encode(m.request, { config, runtime_handler: rng.chance(0.9) ? '' : randomString(rng, pools) }) };
    }
    if (roll < 0.12 && pods.length && containerAttempts < maxContainers) {
      containerAttempts++;
      const m = byName.get('CreateContainer')!;
      const config = baseContainer(containerSeq++);
      const cfgType = messageType(m.request, 'ContainerConfig');
      for (let i = rng.int(3); i > 0; i--) mutate(cfgType, config, rng, pools);
      return { m, body: encode(m.request, { pod_sandbox_id: rng.pick(pods), config }) };
    }
    if (roll < 0.16 && containers.length) {
      const m = byName.get(rng.pick(['StartContainer', 'StartContainer', 'ExecSync', 'StopContainer', 'ReopenContainerLog', 'UpdateContainerResources']))!;
      const msg = randomMessage(m.request, rng, pools);
      msg.container_id = rng.pick(containers);
      if (m.name === 'ExecSync') {
        msg.cmd = [rng.pick(['true', 'echo', 'false', 'ls', 'id']), ...(rng.chance(0.5) ? [randomString(rng, pools)] : [])];
        msg.timeout = rng.pick([0n, 1n, 5n, 2n ** 40n, -1n]);
      }
      if (m.name === 'StopContainer') msg.timeout = rng.pick([0n, 1n, 2n, 2n ** 40n, 2n ** 53n - 1n, -5n]);
      return { m, body: encode(m.request, msg, rng) };
    }
    const m = rng.pick(methods);
    if (roll < 0.2) return { m, body: rng.bytes(rng.int(64)) };
    const msg = randomMessage(m.request, rng, pools);
    // A random pod that happens to be valid still lives under the test's cgroup parent.
    const config = msg.config as Msg | undefined;
    if (m.name === 'RunPodSandbox' && config && typeof config === 'object' && !Buffer.isBuffer(config)) {
      config.linux = { ...((config.linux as Msg | undefined) ?? {}), cgroup_parent: guardedValue('cgroup_parent', rng, pools) };
    }
    const body = encode(m.request, msg, rng);
    return { m, body: roll < 0.28 ? damage(body, rng) : body };
  };

  const started = Date.now();
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      if (index >= opts.count) return;
      const { m, body } = make();
      const sent = performance.now();
      const answer = await raw(client, m, body, deadlineMs);
      report.msByMethod[m.name] = (report.msByMethod[m.name] ?? 0) + performance.now() - sent;
      report.requests++;
      const code = CODE_NAMES[answer.code] ?? String(answer.code);
      report.byCode[code] = (report.byCode[code] ?? 0) + 1;
      report.byMethod[m.name] = (report.byMethod[m.name] ?? 0) + 1;
      if (answer.code === grpc.status.OK) {
        const id = firstString(answer.reply);
        if (m.name === 'RunPodSandbox' && id) {
          pods.push(id);
          report.podsMade++;
        }
        if (m.name === 'CreateContainer' && id) {
          containers.push(id);
          report.containersMade++;
        }
      }
      // DEADLINE_EXCEEDED is a typed answer (a long StopContainer or ExecSync); UNAVAILABLE,
      // UNKNOWN and INTERNAL are not what a client should ever see.
      const hung = answer.code === grpc.status.DEADLINE_EXCEEDED && !['StopContainer', 'ExecSync'].includes(m.name);
      // UNAVAILABLE is PullImage's answer when the registry is unreachable; for anything else it
      // means the connection to the daemon broke.
      const broken = answer.code === grpc.status.UNAVAILABLE && m.name !== 'PullImage';
      if (hung || broken || [grpc.status.UNKNOWN, grpc.status.INTERNAL, grpc.status.DATA_LOSS].includes(answer.code)) {
        report.suspicious.push({ index, method: m.name, code, details: answer.details.slice(0, 300), request: body.subarray(0, 4096).toString('base64') });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  report.seconds = (Date.now() - started) / 1000;
  client.close();
  return report;
}
