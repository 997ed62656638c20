// cricket play's kubelet duties: init containers in order, env from ConfigMaps and Secrets,
// restarts with back-off, liveness probes, manifest errors that name field and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useCricket } from '../harness/cricket.js';
import { logLines } from '../harness/pods.js';
import { background, cli, cliOk, playFlags } from '../harness/play.js';
import type { Message } from '../client/cri.js';

const d = useCricket();
const BB = 'cricket.local/busybox:latest';

async function containersOf(pod: string): Promise<Message[]> {
  const { items } = await d.cri.runtime.call<{ items: Message[] }>('ListPodSandbox', { filter: { label_selector: { 'io.kubernetes.pod.name': pod } } });
  assert.equal(items.length, 1, `one sandbox for ${pod}`);
  const { containers } = await d.cri.runtime.call<{ containers: Message[] }>('ListContainers', { filter: { pod_sandbox_id: items[0]!.id } });
  return containers;
}

async function statusOf(id: string): Promise<Message> {
  return (await d.cri.runtime.call<{ status: Message }>('ContainerStatus', { container_id: id })).status;
}

test('init containers run one after the other, each to exit 0, before the app container', async () => {
  const yaml = `
apiVersion: v1
kind: Pod
metadata: {name: init-order}
spec:
  volumes: [{name: work, emptyDir: {}}]
  initContainers:
    - name: first
      image: ${BB}
      imagePullPolicy: IfNotPresent
      command: ["sh", "-c", "sleep 1; echo first >> /work/order"]
      volumeMounts: [{name: work, mountPath: /work}]
    - name: second
      image: ${BB}
      imagePullPolicy: IfNotPresent
      command: ["sh", "-c", "test -f /work/order && echo second >> /work/order"]
      volumeMounts: [{name: work, mountPath: /work}]
  containers:
    - name: app
      image: ${BB}
      imagePullPolicy: IfNotPresent
      command: ["sh", "-c", "echo app >> /work/order; cat /work/order; sleep 3600"]
      volumeMounts: [{name: work, mountPath: /work}]
`;
  const out = await cliOk(['play', ...playFlags(d), '--wait', '-'], yaml);
  const order = ['init container first exited\\(0\\)', 'init container second [0-9a-f]{12} running', 'init container second exited\\(0\\)', 'container app [0-9a-f]{12}'];
  let at = 0;
  for (const step of order) {
    const m = new RegExp(step).exec(out.slice(at));
    assert.ok(m, `"${step}" after position ${at} in:\n${out}`);
    at += m.index + m[0].length;
  }
  const app = (await containersOf('init-order')).find((c) => (c.labels as Record<string, string>)['io.kubernetes.container.name'] === 'app')!;
  const status = await statusOf(app.id as string);
  for (let i = 0; i < 50 && logLines(status.log_path as string).length < 3; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(logLines(status.log_path as string), ['first', 'second', 'app']);
  assert.match(status.log_path as string, new RegExp(`${join(d.dir, 'pod-logs')}/default_init-order_[0-9a-f-]+/app/0\\.log$`));
  await cliOk(['play', ...playFlags(d), '--down', '--grace-period', '1', '-'], yaml);
});

test('a failing init container under restartPolicy Never stops the pod there', async () => {
  const yaml = `
apiVersion: v1
kind: Pod
metadata: {name: init-fails}
spec:
  restartPolicy: Never
  initContainers:
    - {name: broken, image: ${BB}, imagePullPolicy: IfNotPresent, command: ["sh", "-c", "exit 3"]}
  containers:
    - {name: app, image: ${BB}, imagePullPolicy: IfNotPresent, command: ["sleep", "3600"]}
`;
  const r = await cli(['play', ...playFlags(d), '-'], yaml);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /init container broken exited\(3\)/);
  assert.match(r.stdout, /failed: init container broken exited with 3/);
  const names = (await containersOf('init-fails')).map((c) => (c.labels as Record<string, string>)['io.kubernetes.container.name']);
  assert.deepEqual(names, ['broken'], 'the app container was never created');
  await cliOk(['play', ...playFlags(d), '--down', '--grace-period', '1', '-'], yaml);
});

test('env from values, a ConfigMap, a Secret and the pod\'s fields; a secret volume is root\'s', async () => {
  const yaml = `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hello, color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {password: ${Buffer.from('s3cr3t').toString('base64')}}
stringData: {user: admin}
---
apiVersion: v1
kind: Pod
metadata: {name: env-pod}
spec:
  restartPolicy: Never
  volumes:
    - {name: creds, secret: {secretName: creds, items: [{key: password, path: db/pass}]}}
  containers:
    - name: show
      image: ${BB}
      imagePullPolicy: IfNotPresent
      command: ["sh", "-c", "echo $GREETING $COLOR $PASSWORD $USER_NAME $POD $NS $IP $COMBINED; cat /creds/db/pass; echo; ls /creds"]
      workingDir: /tmp
      env:
        - {name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}
        - {name: COLOR, valueFrom: {configMapKeyRef: {name: settings, key: color}}}
        - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
        - {name: USER_NAME, valueFrom: {secretKeyRef: {name: creds, key: user}}}
        - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        - {name: COMBINED, value: "$(GREETING)-$(COLOR)"}
      volumeMounts: [{name: creds, mountPath: /creds}]
`;
  const out = await cliOk(['play', ...playFlags(d), '-'], yaml);
  const ip = /ready, IP ([0-9.]+)/.exec(out)![1];
  const [show] = await containersOf('env-pod');
  let status = await statusOf(show!.id as string);
  for (let i = 0; i < 100 && status.state !== 'CONTAINER_EXITED'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = await statusOf(show!.id as string);
  }
  assert.equal(status.exit_code, 0);
  assert.deepEqual(logLines(status.log_path as string), [`hello blue s3cr3t admin env-pod default ${ip} hello-blue`, 's3cr3t', 'db']);
  const uid = (show!.labels as Record<string, string>)['io.kubernetes.pod.uid']!;
  const secretDir = join(d.dir, 'play-pods', uid, 'volumes', 'kubernetes.io~secret', 'creds');
  assert.equal(statSync(secretDir).mode & 0o777, 0o700);
  assert.equal(statSync(join(secretDir, 'db', 'pass')).mode & 0o777, 0o600);
  assert.equal(readFileSync(join(secretDir, 'db', 'pass'), 'utf8'), 's3cr3t');
  await cliOk(['play', ...playFlags(d), '--down', '--grace-period', '1', '-'], yaml);
});

test('restartPolicy OnFailure restarts a failing container with doubling back-off; Never leaves it', async () => {
  const yaml = `
apiVersion: v1
kind: Pod
metadata: {name: crashy}
spec:
  restartPolicy: OnFailure
  containers:
    - {name: crash, image: ${BB}, imagePullPolicy: IfNotPresent, command: ["sh", "-c", "date +%s; exit 7"]}
`;
  const file = join(d.dir, 'crashy.yaml');
  writeFileSync(file, yaml);
  const w = background(['play', ...playFlags(d), '--watch', '--backoff', '1s', '--backoff-max', '8s', '--sync-period', '200ms', file]);
  try {
    await w.waitFor(/container crash back-off 1s before restart 1/);
    await w.waitFor(/container crash back-off 2s before restart 2/);
    await w.waitFor(/container crash back-off 4s before restart 3/, 90_000);
    await w.waitFor(/restarted as [0-9a-f]{12} \(restart 3\)/, 90_000);
  } finally {
    await w.stop();
  }
  // The last instance and the one before it are kept (for their logs), older ones removed.
  const attempts = (await containersOf('crashy')).map((c) => (c.metadata as Message).attempt).sort();
  assert.deepEqual(attempts, [2, 3]);
  await cliOk(['play', ...playFlags(d), '--down', '--grace-period', '1', file]);

  const never = yaml.replace('OnFailure', 'Never').replace(/crashy/g, 'no-restart');
  const nfile = join(d.dir, 'never.yaml');
  writeFileSync(nfile, never);
  const w2 = background(['play', ...playFlags(d), '--watch', '--backoff', '1s', '--sync-period', '200ms', nfile]);
  try {
    await w2.waitFor(/container crash stays exited \(restartPolicy Never\)/);
    assert.equal(await w2.stop(), 0, 'nothing left to watch: play returns');
  } finally {
    await w2.stop();
  }
  assert.equal((await containersOf('no-restart')).length, 1);
  await cliOk(['play', ...playFlags(d), '--down', '--grace-period', '1', nfile]);
});

test('a failing liveness probe kills the container and it is restarted', async () => {
  const yaml = `
apiVersion: v1
kind: Pod
metadata: {name: liveness}
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: app
      image: ${BB}
      imagePullPolicy: IfNotPresent
      command: ["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600"]
      livenessProbe:
        exec: {command: ["cat", "/tmp/healthy"]}
        periodSeconds: 1
        failureThreshold: 2
`;
  const file = join(d.dir, 'liveness.yaml');
  writeFileSync(file, yaml);
  const w = background(['play', ...playFlags(d), '--watch', '--backoff', '1s', '--sync-period', '200ms', file]);
  try {
    await w.waitFor(/container app liveness probe failed \(1\/2\): exit 1/);
    await w.waitFor(/container app liveness probe failed 2 times; killing it/);
    await w.waitFor(/container app restarted as [0-9a-f]{12} \(restart 1\)/);
  } finally {
    await w.stop();
  }
  const containers = await containersOf('liveness');
  const first = containers.find((c) => (c.metadata as Message).attempt === 0)!;
  const s = await statusOf(first.id as string);
  assert.equal(s.state, 'CONTAINER_EXITED');
  assert.equal(s.exit_code, 137, 'sh ignores SIGTERM as PID 1: killed after the grace period');
  await cliOk(['play', ...playFlags(d), '--down', '--grace-period', '1', file]);
});

test('a bad manifest is refused with the document, the field path and the line', async () => {
  const yaml = `apiVersion: v1
kind: ConfigMap
metadata: {name: fine}
---
apiVersion: v1
kind: Pod
metadata:
  name: bad
spec:
  containers:
    - name: app
      image: ${BB}
      comand: ["sleep", "1"]
      ports:
        - containerPort: "80"
`;
  const r = await cli(['play', ...playFlags(d), '-'], yaml);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /<stdin>:13: document 2, spec\.containers\[0\]\.comand: unknown field "comand"/);
  assert.match(r.stderr, /<stdin>:15: document 2, spec\.containers\[0\]\.ports\[0\]\.containerPort: must be an integer, not string "80"/);
  const { items } = await d.cri.runtime.call<{ items: Message[] }>('ListPodSandbox', { filter: { label_selector: { 'io.kubernetes.pod.name': 'bad' } } });
  assert.deepEqual(items, [], 'nothing is started from a bad file');

  const unsupported = await cli(['play', ...playFlags(d), '-'], `apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: a, image: ${BB}}]\n  volumes:\n    - name: data\n      nfs: {server: s, path: /}\n`);
  assert.equal(unsupported.code, 1);
  assert.match(unsupported.stderr, /<stdin>:8: document 1, spec\.volumes\[0\]\.nfs: not supported: cricket play supports emptyDir, hostPath, configMap and secret volumes/);
});

test('runAsNonRoot refuses a container that would run as root, before anything starts', async () => {
  const yaml = `
apiVersion: v1
kind: Pod
metadata: {name: nonroot}
spec:
  securityContext: {runAsNonRoot: true}
  containers:
    - {name: app, image: ${BB}, imagePullPolicy: IfNotPresent, command: ["sleep", "1"]}
`;
  const r = await cli(['play', ...playFlags(d), '-'], yaml);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /pod default\/nonroot: container app: runAsNonRoot is set and image cricket\.local\/busybox:latest runs as root: give runAsUser/);
  const { items } = await d.cri.runtime.call<{ items: Message[] }>('ListPodSandbox', { filter: { label_selector: { 'io.kubernetes.pod.name': 'nonroot' } } });
  assert.deepEqual(items, []);
  const ok = await cli(['play', ...playFlags(d), '-'], yaml.replace('{runAsNonRoot: true}', '{runAsNonRoot: true, runAsUser: 1000}'));
  assert.equal(ok.code, 0, ok.stderr);
  await cliOk(['play', ...playFlags(d), '--down', '--grace-period', '1', '-'], yaml);
});

test('startup probe over TCP, then readiness over HTTP GET, to the pod IP', async () => {
  const yaml = `
apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: web
      image: ${BB}
      imagePullPolicy: IfNotPresent
      command: ["sh", "-c", "sleep 2; mkdir -p /tmp/www; echo ok > /tmp/www/healthz; exec httpd -f -p 8080 -h /tmp/www"]
      ports: [{name: http, containerPort: 8080}]
      startupProbe:
        tcpSocket: {port: http}
        periodSeconds: 1
        failureThreshold: 30
      readinessProbe:
        httpGet: {path: /healthz, port: 8080}
        periodSeconds: 1
`;
  const file = join(d.dir, 'probed.yaml');
  writeFileSync(file, yaml);
  const w = background(['play', ...playFlags(d), '--watch', '--sync-period', '200ms', file]);
  try {
    await w.waitFor(/container web startup probe failed \(1\/30\): connect ECONNREFUSED/);
    await w.waitFor(/container web started \(startup probe succeeded\)/);
    await w.waitFor(/container web ready/);
    assert.ok(!/readiness probe failed/.test(w.output().split('started (startup probe succeeded)')[0]!), 'readiness waits for the startup probe');
  } finally {
    await w.stop();
  }
  await cliOk(['play', ...playFlags(d), '--down', '--grace-period', '1', file]);
});

test('a new play --watch takes over the pods an earlier play started: restarts carry on', async () => {
  const yaml = `
apiVersion: v1
kind: Pod
metadata: {name: taken-over}
spec:
  restartPolicy: Always
  containers:
    - {name: brief, image: ${BB}, imagePullPolicy: IfNotPresent, command: ["sh", "-c", "sleep 1; exit 3"]}
`;
  const file = join(d.dir, 'taken-over.yaml');
  writeFileSync(file, yaml);
  const first = background(['play', ...playFlags(d), '--watch', '--backoff', '1s', '--sync-period', '200ms', file]);
  let sandbox: string;
  try {
    sandbox = (await first.waitFor(/pod default\/taken-over: sandbox ([0-9a-f]{12}) ready/))[1]!;
    await first.waitFor(/container brief restarted as [0-9a-f]{12} \(restart 1\)/);
  } finally {
    await first.stop();
  }
  // Nobody watches: the restarted instance exits and stays exited.
  const exitedAgain = async () => {
    const all = await containersOf('taken-over');
    const newest = all.reduce((a, b) => (((b.metadata as Message).attempt as number) > ((a.metadata as Message).attempt as number) ? b : a));
    return (await statusOf(newest.id as string)).state === 'CONTAINER_EXITED' ? all : undefined;
  };
  for (let i = 0; i < 100 && !(await exitedAgain()); i++) await new Promise((r) => setTimeout(r, 100));
  const before = await exitedAgain();
  assert.ok(before, 'the restarted instance exited');
  assert.deepEqual(before.map((c) => (c.metadata as Message).attempt).sort(), [0, 1]);

  // Without --watch the pod is in the way, as before.
  const refused = await cli(['play', ...playFlags(d), file]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /already exists/);

  const second = background(['play', ...playFlags(d), '--watch', '--backoff', '1s', '--sync-period', '200ms', file]);
  try {
    await second.waitFor(new RegExp(`pod default/taken-over: sandbox ${sandbox} taken over`));
    await second.waitFor(/container brief restarted as [0-9a-f]{12} \(restart 2\)/, 60_000);
  } finally {
    await second.stop();
  }
  assert.ok(!/sandbox [0-9a-f]{12} ready/.test(second.output()), 'no new sandbox was made');
  const { items } = await d.cri.runtime.call<{ items: Message[] }>('ListPodSandbox', { filter: { label_selector: { 'io.kubernetes.pod.name': 'taken-over' } } });
  assert.equal(items.length, 1);
  assert.equal((items[0]!.id as string).slice(0, 12), sandbox);
  // The instance before the newest is kept for its logs, the oldest removed.
  assert.deepEqual((await containersOf('taken-over')).map((c) => (c.metadata as Message).attempt).sort(), [1, 2]);
  await cliOk(['play', ...playFlags(d), '--down', '--grace-period', '1', file]);
});
