// A Pod's spec → the CRI requests kubelet would send for it: the sandbox config and one
// container config per container, with kubelet's labels and annotations.
import type { Container, EnvVar } from 'kubernetes-types/core/v1.js';
import {
  ContainerConfig, NamespaceMode, PodSandboxConfig, Protocol, SecurityProfile_ProfileType, MountPropagation,
  type KeyValue, type Mount, type PortMapping,
} from '../../gen/runtime/v1/api.js';
import { objectKey, type Manifest, type PlayPod } from './manifest.js';
import { containerResources, qosClass } from './resources.js';
import type { PreparedVolume } from './volumes.js';

export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
export const ANNOTATION_RESTART_COUNT = 'io.kubernetes.container.restartCount';
/** Marks what `cricket play` made, so `--down` and `pods` tell it from other clients' pods. */
export const LABEL_PLAYED = 'io.cricket.play';

export interface PodContext {
  p: PlayPod;
  uid: string;
  logDirectory: string;
  cgroupParent: string;
  volumes: Map<string, PreparedVolume>;
}

const int64 = (value: number | undefined) => (value === undefined ? undefined : { value: BigInt(value) });

function seccomp(profile: { type: string; localhostProfile?: string } | undefined) {
  if (!profile) return undefined;
  const profileType = profile.type === 'RuntimeDefault' ? SecurityProfile_ProfileType.RuntimeDefault : profile.type === 'Localhost' ? SecurityProfile_ProfileType.Localhost : SecurityProfile_ProfileType.Unconfined;
  return { profileType, localhostRef: profile.localhostProfile ?? '' };
}

function namespaceOptions(ctx: PodContext) {
  const spec = ctx.p.pod.spec!;
  return {
    network: spec.hostNetwork ? NamespaceMode.NODE : NamespaceMode.POD,
    pid: spec.hostPID ? NamespaceMode.NODE : spec.shareProcessNamespace ? NamespaceMode.POD : NamespaceMode.CONTAINER,
    ipc: spec.hostIPC ? NamespaceMode.NODE : NamespaceMode.POD,
  };
}

export function podSandboxConfig(ctx: PodContext): PodSandboxConfig {
  const { pod } = ctx.p;
  const spec = pod.spec!;
  const containers = [...(spec.initContainers ?? []), ...spec.containers];
  const portMappings: PortMapping[] = [];
  for (const c of spec.containers) {
    for (const port of c.ports ?? []) {
      if (!port.hostPort) continue;
      portMappings.push({
        protocol: port.protocol === 'UDP' ? Protocol.UDP : port.protocol === 'SCTP' ? Protocol.SCTP : Protocol.TCP,
        containerPort: port.containerPort,
        hostPort: port.hostPort,
        hostIp: port.hostIP ?? '',
      });
    }
  }
  const sc = spec.securityContext ?? {};
  return PodSandboxConfig.fromPartial({
    metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: ctx.uid, attempt: 0 },
    // kubelet names the pod's host after the pod unless it shares the node's network.
    hostname: spec.hostNetwork ? '' : (spec.hostname ?? pod.metadata.name).slice(0, 63),
    logDirectory: ctx.logDirectory,
    dnsConfig: spec.dnsConfig
      ? { servers: spec.dnsConfig.nameservers ?? [], searches: spec.dnsConfig.searches ?? [], options: (spec.dnsConfig.options ?? []).map((o) => (o.value ? `${o.name}:${o.value}` : (o.name ?? ''))) }
      : undefined,
    portMappings,
    labels: { ...pod.metadata.labels, [LABEL_POD_NAME]: pod.metadata.name, [LABEL_POD_NAMESPACE]: pod.metadata.namespace, [LABEL_POD_UID]: ctx.uid, [LABEL_PLAYED]: 'true' },
    annotations: { ...pod.metadata.annotations, 'kubernetes.io/config.source': 'file' },
    linux: {
      cgroupParent: ctx.cgroupParent,
      sysctls: Object.fromEntries((sc.sysctls ?? []).map((s) => [s.name, s.value])),
      securityContext: {
        namespaceOptions: namespaceOptions(ctx),
        runAsUser: int64(sc.runAsUser),
        runAsGroup: int64(sc.runAsGroup),
        supplementalGroups: (sc.supplementalGroups ?? []).map(BigInt),
        privileged: containers.some((c) => c.securityContext?.privileged === true),
        seccomp: seccomp(sc.seccompProfile),
      },
    },
  });
}

/** Values the environment may refer to; podIP is known once the sandbox is up. */
export interface EnvContext {
  manifest: Manifest;
  podIP: string;
}

function resolveEnv(ctx: PodContext, c: Container, env: EnvContext): KeyValue[] {
  const { pod } = ctx.p;
  const ns = pod.metadata.namespace;
  const values = new Map<string, string>();
  for (const e of c.env ?? []) {
    const v = envValue(ctx, e, env, ns);
    if (v === undefined) continue;
    // Earlier variables may be referred to as $(NAME), as Kubernetes expands them.
    values.set(e.name, expand(v, values));
  }
  return [...values].map(([key, value]) => ({ key, value: Buffer.from(value) }) as unknown as KeyValue);
}

function envValue(ctx: PodContext, e: EnvVar, env: EnvContext, ns: string): string | undefined {
  const where = `pod ${ns}/${ctx.p.pod.metadata.name}, env ${e.name}`;
  if (e.value !== undefined) return e.value;
  const from = e.valueFrom;
  if (!from) return '';
  if (from.configMapKeyRef) {
    const ref = from.configMapKeyRef;
    const value = env.manifest.configMaps.get(objectKey(ns, ref.name ?? ''))?.data?.[ref.key];
    if (value === undefined && !ref.optional) throw new Error(`${where}: configMap "${ref.name}" key "${ref.key}" is not in ${env.manifest.source}`);
    return value;
  }
  if (from.secretKeyRef) {
    const ref = from.secretKeyRef;
    const value = env.manifest.secrets.get(objectKey(ns, ref.name ?? ''))?.get(ref.key);
    if (value === undefined && !ref.optional) throw new Error(`${where}: secret "${ref.name}" key "${ref.key}" is not in ${env.manifest.source}`);
    return value?.toString('utf8');
  }
  if (from.fieldRef) {
    switch (from.fieldRef.fieldPath) {
      case 'metadata.name':
        return ctx.p.pod.metadata.name;
      case 'metadata.namespace':
        return ns;
      case 'metadata.uid':
        return ctx.uid;
      case 'status.podIP':
        return env.podIP;
    }
  }
  return '';
}

/** Kubernetes' $(VAR) expansion: known names are replaced, $$ escapes, unknown ones stay. */
export function expand(text: string, values: Map<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return values.get(name!) ?? match;
  });
}

function mounts(ctx: PodContext, c: Container): Mount[] {
  return (c.volumeMounts ?? []).map((m) => {
    const volume = ctx.volumes.get(m.name)!;
    return {
      containerPath: m.mountPath,
      hostPath: volume.hostPath,
      readonly: volume.readOnly || m.readOnly === true,
      propagation: m.mountPropagation === 'Bidirectional' ? MountPropagation.PROPAGATION_BIDIRECTIONAL : m.mountPropagation === 'HostToContainer' ? MountPropagation.PROPAGATION_HOST_TO_CONTAINER : MountPropagation.PROPAGATION_PRIVATE,
    } as Mount;
  });
}

export function containerConfig(ctx: PodContext, c: Container, attempt: number, env: EnvContext): ContainerConfig {
  const { pod } = ctx.p;
  const spec = pod.spec!;
  const qos = qosClass([...(spec.initContainers ?? []), ...spec.containers]);
  const envs = resolveEnv(ctx, c, env);
  const values = new Map(envs.map((kv) => [kv.key, Buffer.from(kv.value).toString()]));
  const podSc = spec.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const privileged = sc.privileged === true;
  return ContainerConfig.fromPartial({
    metadata: { name: c.name, attempt },
    image: { image: c.image!, userSpecifiedImage: c.image! },
    command: (c.command ?? []).map((s) => expand(s, values)),
    args: (c.args ?? []).map((s) => expand(s, values)),
    workingDir: c.workingDir ?? '',
    envs,
    mounts: mounts(ctx, c),
    labels: { [LABEL_POD_NAME]: pod.metadata.name, [LABEL_POD_NAMESPACE]: pod.metadata.namespace, [LABEL_POD_UID]: ctx.uid, [LABEL_CONTAINER_NAME]: c.name },
    annotations: { [ANNOTATION_RESTART_COUNT]: String(attempt) },
    logPath: `${c.name}/${attempt}.log`,
    stdin: c.stdin === true,
    stdinOnce: c.stdinOnce === true,
    tty: c.tty === true,
    linux: {
      resources: Object.fromEntries(Object.entries(containerResources(c, qos)).map(([k, v]) => [k, BigInt(v)])),
      securityContext: {
        capabilities: { addCapabilities: sc.capabilities?.add ?? [], dropCapabilities: sc.capabilities?.drop ?? [] },
        privileged,
        namespaceOptions: namespaceOptions(ctx),
        runAsUser: int64(sc.runAsUser ?? podSc.runAsUser),
        runAsGroup: int64(sc.runAsGroup ?? podSc.runAsGroup),
        readonlyRootfs: sc.readOnlyRootFilesystem === true,
        supplementalGroups: (podSc.supplementalGroups ?? []).map(BigInt),
        // kubelet sets no_new_privs only when privilege escalation is explicitly refused.
        noNewPrivs: sc.allowPrivilegeEscalation === false,
        seccomp: seccomp(sc.seccompProfile ?? podSc.seccompProfile),
      },
    },
  });
}
