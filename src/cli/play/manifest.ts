// Multi-document Kubernetes YAML → Pods, ConfigMaps and Secrets, each checked field by field
// against the rules in schema.ts; every problem names the document, the field path and the line.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { ConfigMap, Pod, Secret } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from './quantity.js';
import { configMapRule, podRule, secretRule, type Rule } from './schema.js';

export interface Issue {
  severity: 'error' | 'warning';
  /** 1-based index of the YAML document in the file. */
  document: number;
  /** Field path, e.g. spec.containers[0].image. */
  path: string;
  line: number;
  message: string;
}

export interface PlayPod {
  pod: Pod & { metadata: { name: string; namespace: string } };
  document: number;
  /** Line of a field path inside this pod's document, for errors found after parsing. */
  lineOf(path: (string | number)[]): number;
}

export interface Manifest {
  source: string;
  pods: PlayPod[];
  configMaps: Map<string, ConfigMap>;
  /** Secret data decoded: key → bytes. */
  secrets: Map<string, Map<string, Buffer>>;
  warnings: Issue[];
}

export class ManifestError extends Error {
  constructor(
    readonly source: string,
    readonly issues: Issue[],
  ) {
    super(issues.map((i) => formatIssue(source, i)).join('\n'));
  }
}

export function formatIssue(source: string, i: Issue): string {
  return `${source}:${i.line}: document ${i.document}${i.path ? `, ${i.path}` : ''}: ${i.severity === 'warning' ? 'warning: ' : ''}${i.message}`;
}

const MAX_BYTES = 4 * 1024 * 1024;
const MAX_DOCUMENTS = 500;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export const objectKey = (namespace: string, name: string) => `${namespace}/${name}`;

export function parseManifest(text: string, source: string): Manifest {
  if (Buffer.byteLength(text) > MAX_BYTES) throw new ManifestError(source, [{ severity: 'error', document: 0, path: '', line: 1, message: `larger than ${MAX_BYTES} bytes` }]);
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (!Array.isArray(docs)) return { source, pods: [], configMaps: new Map(), secrets: new Map(), warnings: [] };
  if (docs.length > MAX_DOCUMENTS) throw new ManifestError(source, [{ severity: 'error', document: 0, path: '', line: 1, message: `more than ${MAX_DOCUMENTS} documents` }]);
  const issues: Issue[] = [];
  const manifest: Manifest = { source, pods: [], configMaps: new Map(), secrets: new Map(), warnings: [] };
  const lineAt = (offset: number | undefined) => (offset === undefined ? 1 : lineCounter.linePos(offset).line);

  docs.forEach((doc, index) => {
    const document = index + 1;
    for (const e of doc.errors) issues.push({ severity: 'error', document, path: '', line: lineAt(e.pos[0]), message: e.message.split('\n')[0]! });
    if (doc.errors.length || doc.contents === null) return;
    const issue = (severity: Issue['severity'], path: string, node: Node | null | undefined, message: string) =>
      issues.push({ severity, document, path, line: lineAt(node?.range?.[0]), message });
    if (!isMap(doc.contents)) return issue('error', '', doc.contents, 'a document must be a mapping (a Kubernetes object)');
    const kind = doc.get('kind');
    const rule = kind === 'Pod' ? podRule : kind === 'ConfigMap' ? configMapRule : kind === 'Secret' ? secretRule : undefined;
    if (!rule) return issue('error', 'kind', doc.get('kind', true) as Node ?? doc.contents, kind === undefined ? 'kind is missing' : `kind ${JSON.stringify(kind)} is not supported (Pod, ConfigMap and Secret are)`);
    const before = issues.length;
    check(doc.contents, rule, '', issue);
    const errorsInDoc = issues.slice(before).some((i) => i.severity === 'error');
    if (errorsInDoc) return;
    const value = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
    const lineOf = (path: (string | number)[]) => lineAt((doc.getIn(path, true) as Node | undefined)?.range?.[0] ?? doc.contents!.range?.[0]);
    const meta = (value.metadata ?? {}) as { name?: string; namespace?: string };
    if (!meta.name) return issue('error', 'metadata.name', doc.contents, 'metadata.name is required');
    const nameOk = kind === 'Pod' ? DNS_SUBDOMAIN.test(meta.name) && meta.name.length <= 253 : DNS_SUBDOMAIN.test(meta.name);
    if (!nameOk) return issue('error', 'metadata.name', doc.getIn(['metadata', 'name'], true) as Node, `"${meta.name}" is not a valid name (lower-case letters, digits, "-" and ".")`);
    const namespace = meta.namespace ?? 'default';
    if (!DNS_LABEL.test(namespace) || namespace.length > 63) return issue('error', 'metadata.namespace', doc.getIn(['metadata', 'namespace'], true) as Node, `"${namespace}" is not a valid namespace`);
    const key = objectKey(namespace, meta.name);
    if (kind === 'Pod') {
      const pod = value as unknown as PlayPod['pod'];
      pod.metadata = { ...pod.metadata, name: meta.name, namespace };
      if (manifest.pods.some((p) => p.pod.metadata.name === meta.name && p.pod.metadata.namespace === namespace)) return issue('error', 'metadata.name', doc.getIn(['metadata', 'name'], true) as Node, `pod ${key} is defined twice`);
      manifest.pods.push({ pod, document, lineOf });
      const at = (severity: Issue['severity']) => (path: (string | number)[], message: string) =>
        issues.push({ severity, document, path: path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').slice(1), line: lineOf(path), message });
      checkPod(pod, at('error'), at('warning'));
    } else if (kind === 'ConfigMap') {
      manifest.configMaps.set(key, value as ConfigMap);
    } else {
      const secret = value as Secret;
      const data = new Map<string, Buffer>();
      for (const [k, v] of Object.entries(secret.data ?? {})) {
        if (!/^[A-Za-z0-9+/=\s]*$/.test(v)) {
          issue('error', `data.${k}`, doc.getIn(['data', k], true) as Node, 'is not base64');
          continue;
        }
        data.set(k, Buffer.from(v, 'base64'));
      }
      for (const [k, v] of Object.entries(secret.stringData ?? {})) data.set(k, Buffer.from(v));
      manifest.secrets.set(key, data);
    }
  });
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length) throw new ManifestError(source, errors);
  manifest.warnings = issues.filter((i) => i.severity === 'warning');
  return manifest;
}

type Report = (severity: Issue['severity'], path: string, node: Node | null | undefined, message: string) => void;

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** Walks the YAML node against its rule: types, enums, unknown and unsupported fields. */
function check(node: Node | null | undefined, rule: Rule, path: string, report: Report): void {
  // `emptyDir: {}` and `emptyDir:` mean the same in Kubernetes: a null value is an absent one.
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) return;
  const scalar = isScalar(node) ? node.value : undefined;
  const expect = (what: string) => report('error', path, node, `must be ${what}, not ${describe(node)}`);
  switch (rule.kind) {
    case 'string':
      if (typeof scalar !== 'string') expect('a string');
      return;
    case 'int':
      if (typeof scalar !== 'number' || !Number.isSafeInteger(scalar)) expect('an integer');
      return;
    case 'bool':
      if (typeof scalar !== 'boolean') expect('true or false');
      return;
    case 'intOrString':
      if (!(typeof scalar === 'string' || (typeof scalar === 'number' && Number.isSafeInteger(scalar)))) expect('an integer or a name');
      return;
    case 'quantity':
      if (!(typeof scalar === 'string' || typeof scalar === 'number')) expect('a quantity such as 100m or 64Mi');
      return;
    case 'enum':
      if (typeof scalar !== 'string' || !rule.values.includes(scalar)) expect(`one of ${rule.values.filter(Boolean).join(', ')}`);
      return;
    case 'array':
      if (!isSeq(node)) return expect('a list');
      node.items.forEach((item, i) => check(item as Node, rule.of, `${path}[${i}]`, report));
      return;
    case 'map':
      if (!isMap(node)) return expect('a mapping');
      for (const pair of node.items) check(pair.value as Node, rule.of, join(path, String(isScalar(pair.key) ? pair.key.value : pair.key)), report);
      return;
    case 'object':
      if (!isMap(node)) return expect('a mapping');
      for (const pair of node.items) {
        const keyNode = pair.key as Node;
        const key = isScalar(keyNode) ? keyNode.value : undefined;
        if (typeof key !== 'string') {
          report('error', path, keyNode, 'field names must be strings');
          continue;
        }
        const field = rule.fields[key];
        const fieldPath = join(path, key);
        if (!field || !Object.hasOwn(rule.fields, key)) report('error', fieldPath, keyNode, `unknown field "${key}"`);
        else if (field.kind === 'ignored') report('warning', fieldPath, keyNode, `ignored: ${field.why}`);
        else if (field.kind === 'unsupported') report('error', fieldPath, keyNode, `not supported: ${field.why}`);
        else check(pair.value as Node, field, fieldPath, report);
      }
      return;
    case 'ignored':
    case 'unsupported':
      return;
  }
}

function describe(node: Node): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'null' : `${typeof node.value} ${JSON.stringify(node.value)}`.slice(0, 60);
  return 'this';
}

type Problem = (path: (string | number)[], message: string) => void;

/** What the types cannot say: required fields, unique names, references between fields. */
function checkPod(pod: PlayPod['pod'], problem: Problem, warn: Problem): void {
  const spec = pod.spec;
  if (!spec) return problem(['spec'], 'spec is required');
  if (!spec.containers?.length) return problem(['spec', 'containers'], 'a pod needs at least one container');
  const volumes = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    if (!v.name || !DNS_LABEL.test(v.name)) problem(['spec', 'volumes', i, 'name'], `volume name "${v.name ?? ''}" is not a valid name`);
    if (volumes.has(v.name)) problem(['spec', 'volumes', i, 'name'], `volume "${v.name}" is defined twice`);
    volumes.add(v.name);
    const sources = ['emptyDir', 'hostPath', 'configMap', 'secret'].filter((s) => s in v);
    if (sources.length !== 1) problem(['spec', 'volumes', i], `volume "${v.name}" needs exactly one of emptyDir, hostPath, configMap, secret`);
    if (v.hostPath && !v.hostPath.path?.startsWith('/')) problem(['spec', 'volumes', i, 'hostPath', 'path'], 'must be an absolute path');
    if (v.emptyDir?.sizeLimit !== undefined && v.emptyDir.medium !== 'Memory') warn(['spec', 'volumes', i, 'emptyDir', 'sizeLimit'], 'ignored: only a medium: Memory emptyDir has a size limit here');
    if (v.configMap && !v.configMap.name) problem(['spec', 'volumes', i, 'configMap'], 'configMap.name is required');
    if (v.secret && !v.secret.secretName) problem(['spec', 'volumes', i, 'secret'], 'secret.secretName is required');
    for (const [j, item] of (v.configMap?.items ?? v.secret?.items ?? []).entries()) {
      const source = v.configMap ? 'configMap' : 'secret';
      if (!item.path || item.path.startsWith('/') || item.path.split('/').includes('..')) problem(['spec', 'volumes', i, source, 'items', j, 'path'], 'must be a relative path without ".."');
    }
  });
  const names = new Set<string>();
  for (const list of ['initContainers', 'containers'] as const) {
    (spec[list] ?? []).forEach((c, i) => {
      const at = (...rest: (string | number)[]) => ['spec', list, i, ...rest];
      if (!c.name || !DNS_LABEL.test(c.name)) problem(at('name'), `container name "${c.name ?? ''}" is not a valid name`);
      else if (names.has(c.name)) problem(at('name'), `container "${c.name}" is defined twice`);
      names.add(c.name);
      if (!c.image) problem(at('image'), 'image is required');
      for (const kind of ['requests', 'limits'] as const) {
        for (const [name, value] of Object.entries(c.resources?.[kind] ?? {})) {
          if (name !== 'cpu' && name !== 'memory') problem(at('resources', kind, name), `resource "${name}" is not supported (cpu and memory are)`);
          else {
            try {
              parseQuantity(value);
            } catch (err) {
              problem(at('resources', kind, name), (err as Error).message);
            }
          }
        }
      }
      (c.volumeMounts ?? []).forEach((m, j) => {
        if (!volumes.has(m.name)) problem(at('volumeMounts', j, 'name'), `no volume named "${m.name}" in spec.volumes`);
        if (!m.mountPath?.startsWith('/')) problem(at('volumeMounts', j, 'mountPath'), 'must be an absolute path');
      });
      (c.env ?? []).forEach((e, j) => {
        if (!e.name) problem(at('env', j, 'name'), 'name is required');
        if (e.value !== undefined && e.valueFrom) problem(at('env', j), 'give value or valueFrom, not both');
        const from = e.valueFrom;
        if (from && [from.configMapKeyRef, from.secretKeyRef, from.fieldRef].filter(Boolean).length !== 1) problem(at('env', j, 'valueFrom'), 'needs exactly one of configMapKeyRef, secretKeyRef, fieldRef');
      });
      (c.ports ?? []).forEach((p, j) => {
        if (!(p.containerPort >= 1 && p.containerPort <= 65535)) problem(at('ports', j, 'containerPort'), 'must be a port number 1-65535');
        if (p.hostPort !== undefined && !(p.hostPort >= 0 && p.hostPort <= 65535)) problem(at('ports', j, 'hostPort'), 'must be a port number 1-65535');
      });
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
        const p = c[probe];
        if (!p) continue;
        if (list === 'initContainers') problem(at(probe), 'init containers cannot have probes');
        if ([p.exec, p.httpGet, p.tcpSocket].filter(Boolean).length !== 1) problem(at(probe), 'needs exactly one of exec, httpGet, tcpSocket');
        if (probe !== 'readinessProbe' && p.successThreshold !== undefined && p.successThreshold !== 1) problem(at(probe, 'successThreshold'), 'must be 1 for liveness and startup probes');
      }
    });
  }
}
