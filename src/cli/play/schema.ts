// The fields of the Kubernetes objects `cricket play` reads, keyed by Kubernetes' own TypeScript
// types: a field added to those types fails the build here until it is given a rule, so no field
// of a manifest is ever dropped without a word.
import type { ConfigMap, Container, ContainerPort, EnvVar, Pod, PodSecurityContext, PodSpec, Probe, Secret, SecurityContext, Volume, VolumeMount } from 'kubernetes-types/core/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';

export type Rule =
  | { kind: 'string' }
  | { kind: 'int' }
  | { kind: 'bool' }
  | { kind: 'intOrString' }
  | { kind: 'quantity' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'object'; fields: Record<string, Rule> }
  | { kind: 'array'; of: Rule }
  | { kind: 'map'; of: Rule }
  /** A Kubernetes field with no meaning on a single node without an API server: warned about, skipped. */
  | { kind: 'ignored'; why: string }
  /** A Kubernetes field cricket cannot honour: the manifest is refused. */
  | { kind: 'unsupported'; why: string };

/** Every field of T must be named, so new Kubernetes fields are decided on, not silently passed over. */
type Fields<T> = { [K in keyof Required<T>]: Rule };

const str: Rule = { kind: 'string' };
const int: Rule = { kind: 'int' };
const bool: Rule = { kind: 'bool' };
const intOrString: Rule = { kind: 'intOrString' };
const quantity: Rule = { kind: 'quantity' };
const obj = <T>(fields: Fields<T>): Rule => ({ kind: 'object', fields: fields as Record<string, Rule> });
const arr = (of: Rule): Rule => ({ kind: 'array', of });
const map = (of: Rule): Rule => ({ kind: 'map', of });
const oneOf = (...values: string[]): Rule => ({ kind: 'enum', values });
const ignored = (why: string): Rule => ({ kind: 'ignored', why });
const unsupported = (why: string): Rule => ({ kind: 'unsupported', why });
const noScheduler = ignored('there is no scheduler: the pod runs on this node');
const noApiServer = ignored('there is no API server');
const noVolumeType = unsupported('cricket play supports emptyDir, hostPath, configMap and secret volumes');

const metadata = obj<ObjectMeta>({
  name: str, namespace: str, uid: str, labels: map(str), annotations: map(str),
  generateName: unsupported('give the object a name'),
  creationTimestamp: noApiServer, deletionGracePeriodSeconds: noApiServer, deletionTimestamp: noApiServer,
  finalizers: noApiServer, generation: noApiServer, managedFields: noApiServer, ownerReferences: noApiServer,
  resourceVersion: noApiServer, selfLink: noApiServer,
});

const keySelector = obj<{ key: string; name?: string; optional?: boolean }>({ key: str, name: str, optional: bool });
const keyToPath = obj<{ key: string; path: string; mode?: number }>({ key: str, path: str, mode: int });

const env = obj<EnvVar>({
  name: str,
  value: str,
  valueFrom: obj<NonNullable<EnvVar['valueFrom']>>({
    configMapKeyRef: keySelector,
    secretKeyRef: keySelector,
    fieldRef: obj<{ apiVersion?: string; fieldPath: string }>({ apiVersion: str, fieldPath: oneOf('metadata.name', 'metadata.namespace', 'metadata.uid', 'status.podIP') }),
    resourceFieldRef: unsupported('resourceFieldRef is not supported; use a value'),
  }),
});

const probe = obj<Probe>({
  exec: obj<{ command?: string[] }>({ command: arr(str) }),
  httpGet: obj<NonNullable<Probe['httpGet']>>({
    path: str, port: intOrString, host: str, scheme: oneOf('HTTP'),
    httpHeaders: arr(obj<{ name: string; value: string }>({ name: str, value: str })),
  }),
  tcpSocket: obj<NonNullable<Probe['tcpSocket']>>({ port: intOrString, host: str }),
  grpc: unsupported('gRPC probes are not supported; use exec, httpGet or tcpSocket'),
  initialDelaySeconds: int, periodSeconds: int, timeoutSeconds: int, successThreshold: int, failureThreshold: int,
  terminationGracePeriodSeconds: int,
});

const capabilities = obj<{ add?: string[]; drop?: string[] }>({ add: arr(str), drop: arr(str) });
const seLinux = ignored('there is no SELinux on this runtime');
const windows = ignored('Linux only');

const securityContext = obj<SecurityContext>({
  runAsUser: int, runAsGroup: int, runAsNonRoot: bool, privileged: bool, readOnlyRootFilesystem: bool,
  allowPrivilegeEscalation: bool, capabilities,
  seccompProfile: obj<NonNullable<SecurityContext['seccompProfile']>>({ type: oneOf('RuntimeDefault', 'Unconfined', 'Localhost'), localhostProfile: str }),
  procMount: oneOf('Default'),
  appArmorProfile: ignored('there is no AppArmor on this runtime'), seLinuxOptions: seLinux, windowsOptions: windows,
});

const podSecurityContext = obj<PodSecurityContext>({
  runAsUser: int, runAsGroup: int, runAsNonRoot: bool, supplementalGroups: arr(int),
  seccompProfile: obj<NonNullable<PodSecurityContext['seccompProfile']>>({ type: oneOf('RuntimeDefault', 'Unconfined', 'Localhost'), localhostProfile: str }),
  sysctls: arr(obj<{ name: string; value: string }>({ name: str, value: str })),
  fsGroup: unsupported('fsGroup is not supported'), fsGroupChangePolicy: ignored('no fsGroup'),
  appArmorProfile: ignored('there is no AppArmor on this runtime'), seLinuxOptions: seLinux, windowsOptions: windows,

});

const port = obj<ContainerPort>({ containerPort: int, hostPort: int, hostIP: str, name: str, protocol: oneOf('TCP', 'UDP', 'SCTP') });

const volumeMount = obj<VolumeMount>({
  name: str, mountPath: str, readOnly: bool,
  mountPropagation: oneOf('None', 'HostToContainer', 'Bidirectional'),
  subPath: unsupported('subPath is not supported'), subPathExpr: unsupported('subPathExpr is not supported'),
  recursiveReadOnly: oneOf('Disabled', 'IfPossible', 'Enabled'),
});

const container = obj<Container>({
  name: str, image: str, command: arr(str), args: arr(str), workingDir: str, env: arr(env),
  imagePullPolicy: oneOf('Always', 'IfNotPresent', 'Never'),
  ports: arr(port),
  resources: obj<NonNullable<Container['resources']>>({ requests: map(quantity), limits: map(quantity), claims: unsupported('resource claims are not supported') }),
  securityContext, volumeMounts: arr(volumeMount),
  livenessProbe: probe, readinessProbe: probe, startupProbe: probe,
  stdin: bool, stdinOnce: bool, tty: bool,
  envFrom: unsupported('envFrom is not supported; list the variables under env'),
  lifecycle: unsupported('lifecycle hooks are not supported'),
  restartPolicy: unsupported('sidecar init containers (restartPolicy on a container) are not supported'),
  resizePolicy: ignored('resources are not resized in place'),
  terminationMessagePath: ignored('termination messages are not collected'),
  terminationMessagePolicy: ignored('termination messages are not collected'),
  volumeDevices: unsupported('block volumes are not supported'),
});

const volume = obj<Volume>({
  name: str,
  emptyDir: obj<NonNullable<Volume['emptyDir']>>({ medium: oneOf('', 'Memory'), sizeLimit: quantity }),
  hostPath: obj<NonNullable<Volume['hostPath']>>({ path: str, type: oneOf('', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice') }),
  configMap: obj<NonNullable<Volume['configMap']>>({ name: str, items: arr(keyToPath), defaultMode: int, optional: bool }),
  secret: obj<NonNullable<Volume['secret']>>({ secretName: str, items: arr(keyToPath), defaultMode: int, optional: bool }),
  awsElasticBlockStore: noVolumeType, azureDisk: noVolumeType, azureFile: noVolumeType, cephfs: noVolumeType,
  cinder: noVolumeType, csi: noVolumeType, downwardAPI: noVolumeType, ephemeral: noVolumeType, fc: noVolumeType,
  flexVolume: noVolumeType, flocker: noVolumeType, gcePersistentDisk: noVolumeType, gitRepo: noVolumeType,
  glusterfs: noVolumeType, iscsi: noVolumeType, nfs: noVolumeType, persistentVolumeClaim: noVolumeType,
  photonPersistentDisk: noVolumeType, portworxVolume: noVolumeType, projected: noVolumeType, quobyte: noVolumeType,
  rbd: noVolumeType, scaleIO: noVolumeType, storageos: noVolumeType, vsphereVolume: noVolumeType,
});

const podSpec = obj<PodSpec>({
  containers: arr(container), initContainers: arr(container), volumes: arr(volume),
  restartPolicy: oneOf('Always', 'OnFailure', 'Never'),
  hostNetwork: bool, hostPID: bool, hostIPC: bool, hostname: str, subdomain: ignored('there is no cluster DNS'), shareProcessNamespace: bool,
  securityContext: podSecurityContext, terminationGracePeriodSeconds: int,
  dnsConfig: obj<NonNullable<PodSpec['dnsConfig']>>({ nameservers: arr(str), searches: arr(str), options: arr(obj<{ name?: string; value?: string }>({ name: str, value: str })) }),
  hostAliases: unsupported('hostAliases are not supported'),
  activeDeadlineSeconds: unsupported('activeDeadlineSeconds is not supported'),
  ephemeralContainers: unsupported('ephemeral containers are added with the API, not in a manifest'),
  hostUsers: unsupported('user namespaces are not supported'),
  os: obj<NonNullable<PodSpec['os']>>({ name: oneOf('linux') }),
  runtimeClassName: unsupported('runtime classes are not supported by cricket play'),
  resourceClaims: unsupported('resource claims are not supported'),
  overhead: ignored('pod overhead is set by a RuntimeClass'),
  setHostnameAsFQDN: unsupported('setHostnameAsFQDN is not supported'),
  affinity: noScheduler, nodeName: noScheduler, nodeSelector: noScheduler, tolerations: noScheduler,
  topologySpreadConstraints: noScheduler, schedulerName: noScheduler, schedulingGates: noScheduler,
  priority: noScheduler, priorityClassName: noScheduler, preemptionPolicy: noScheduler, readinessGates: noScheduler,
  dnsPolicy: ignored('the pod gets the node\'s DNS configuration'), enableServiceLinks: ignored('there are no services'),
  serviceAccount: noApiServer, serviceAccountName: noApiServer, automountServiceAccountToken: noApiServer,
  imagePullSecrets: ignored('registry credentials come from the daemon\'s configuration'),
});

export const podRule = obj<Pod>({ apiVersion: oneOf('v1'), kind: oneOf('Pod'), metadata, spec: podSpec, status: ignored('status is written by the runtime') });
export const configMapRule = obj<ConfigMap>({ apiVersion: oneOf('v1'), kind: oneOf('ConfigMap'), metadata, data: map(str), binaryData: map(str), immutable: bool });
export const secretRule = obj<Secret>({ apiVersion: oneOf('v1'), kind: oneOf('Secret'), metadata, data: map(str), stringData: map(str), type: str, immutable: bool });
