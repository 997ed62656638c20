// pods, ps, logs, exec, inspect, stop and rm through the CLI against a real daemon and a played pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { useCricket, waitFor } from '../harness/cricket.js';
import { background, cli, cliOk, clientFlags, playFlags } from '../harness/play.js';
import type { Message } from '../client/cri.js';

const d = useCricket();
const BB = 'cricket.local/busybox:latest';

const manifest = `
apiVersion: v1
kind: Pod
metadata: {name: talker, namespace: demo}
spec:
  containers:
    - name: speaker
      image: ${BB}
      imagePullPolicy: IfNotPresent
      command: ["sh", "-c", "i=0; while [ $i -lt 5 ]; do echo line $i; echo err $i >&2; i=$((i+1)); done; while [ ! -f /tmp/go ]; do sleep 0.2; done; echo after rotation; sleep 1; exit 0"]
    - name: idle
      image: ${BB}
      imagePullPolicy: IfNotPresent
      command: ["sleep", "3600"]
`;

test('pods, ps, inspect, logs (with --tail, -f across rotation), exec, stop and rm', async () => {
  const file = join(d.dir, 'talker.yaml');
  writeFileSync(file, manifest);
  const played = await cliOk(['play', ...playFlags(d), '--wait', file]);
  const ip = /ready, IP ([0-9.]+)/.exec(played)![1]!;

  const pods = await cliOk(['pods', ...clientFlags(d)]);
  assert.match(pods, /^POD ID\s+NAME\s+NAMESPACE\s+STATE\s+IP\s+CONTAINERS\s+AGE\n/);
  const row = pods.split('\n').find((l) => l.includes('talker'))!;
  assert.match(row, new RegExp(`^([0-9a-f]{13})\\s+talker\\s+demo\\s+Ready\\s+${ip.replace(/\./g, '\\.')}\\s+2/2\\s+\\d+s$`));
  const shortPodId = row.slice(0, 13);
  const podsJson = JSON.parse(await cliOk(['pods', ...clientFlags(d), '-o', 'json'])) as Message[];
  assert.equal(podsJson.length, 1);
  assert.equal((podsJson[0]!.metadata as Message).name, 'talker');
  assert.equal(podsJson[0]!.ip, ip);
  const podsYaml = parseYaml(await cliOk(['pods', ...clientFlags(d), '-o', 'yaml'])) as Message[];
  assert.equal(podsYaml[0]!.id, podsJson[0]!.id);

  const ps = await cliOk(['ps', ...clientFlags(d)]);
  assert.match(ps, /^CONTAINER ID\s+NAME\s+POD\s+STATE\s+ATTEMPT\s+IMAGE\s+AGE\n/);
  assert.match(ps, /\n[0-9a-f]{13}\s+idle\s+talker\s+Running\s+0\s+cricket\.local\/busybox:latest\s+\d+s/);

  // A pod by name, by namespace/name and by short id; a container by -c.
  for (const ref of ['talker', 'demo/talker', shortPodId]) {
    const inspected = JSON.parse(await cliOk(['inspect', ...clientFlags(d), ref])) as { status: Message };
    assert.equal((inspected.status.network as Message).ip, ip);
  }
  const idle = JSON.parse(await cliOk(['inspect', ...clientFlags(d), 'talker', '-c', 'idle'])) as { status: Message; info: { info?: { pid?: number } } };
  assert.equal(idle.status.state, 'CONTAINER_RUNNING');
  assert.equal((idle.status.metadata as Message).name, 'idle');

  // logs: stdout and stderr apart, --tail, default container announced.
  await waitFor('five lines', async () => ((await cli(['logs', ...clientFlags(d), 'talker', '-c', 'speaker'])).stdout.split('\n').length >= 6 ? true : undefined));
  const logs = await cli(['logs', ...clientFlags(d), 'demo/talker', '-c', 'speaker']);
  assert.equal(logs.stdout, 'line 0\nline 1\nline 2\nline 3\nline 4\n');
  assert.equal(logs.stderr, 'err 0\nerr 1\nerr 2\nerr 3\nerr 4\n');
  // --tail counts lines of both streams in the file's order, as kubectl does.
  const all = (await cliOk(['logs', ...clientFlags(d), '--timestamps', 'talker', '-c', 'speaker']));
  const tail = await cli(['logs', ...clientFlags(d), '--timestamps', '--tail', '2', 'talker', '-c', 'speaker']);
  const tailed = `${tail.stdout}${tail.stderr}`.trim().split('\n').sort();
  assert.equal(tailed.length, 2);
  for (const line of tailed) assert.match(line, /^\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-][0-9:]+) (line|err) [34]$/);
  assert.ok(all.split('\n').length >= 5);
  assert.equal((await cli(['logs', ...clientFlags(d), '--tail', '0', 'talker', '-c', 'speaker'])).stdout, '');
  const defaulted = await cli(['logs', ...clientFlags(d), 'talker']);
  assert.match(defaulted.stderr, /Defaulted container "speaker" out of: speaker, idle/);

  // exec: output, exit code, stdin.
  const hostname = await cli(['exec', ...clientFlags(d), 'talker', '-c', 'idle', '--', 'hostname']);
  assert.equal(hostname.stdout, 'talker\n');
  assert.equal(hostname.code, 0);
  const failing = await cli(['exec', ...clientFlags(d), 'talker', '-c', 'idle', '--', 'sh', '-c', 'echo oops >&2; exit 4']);
  assert.equal(failing.code, 4);
  assert.equal(failing.stderr, 'oops\n');
  const piped = await cli(['exec', ...clientFlags(d), '-i', 'talker', '-c', 'idle', '--', 'tr', 'a-z', 'A-Z'], 'shout\n');
  assert.equal(piped.stdout, 'SHOUT\n');

  // logs -f follows the file across a rotation (rename + ReopenContainerLog, as kubelet does)
  // and returns once the container has exited.
  const follow = background(['logs', ...clientFlags(d), '-f', 'talker', '-c', 'speaker']);
  try {
    await follow.waitFor(/line 4\n/);
    const speaker = JSON.parse(await cliOk(['inspect', ...clientFlags(d), 'talker', '-c', 'speaker'])) as { status: { id: string; logPath: string } };
    renameSync(speaker.status.logPath, `${speaker.status.logPath}.1`);
    await d.cri.runtime.call('ReopenContainerLog', { container_id: speaker.status.id });
    await cliOk(['exec', ...clientFlags(d), 'talker', '-c', 'speaker', '--', 'sh', '-c', 'echo go > /tmp/go']);
    await follow.waitFor(/after rotation\n/);
    assert.equal(await follow.exit(), 0, 'logs -f returns when the container has exited');
  } finally {
    await follow.stop();
  }

  const stopped = await cliOk(['stop', ...clientFlags(d), 'talker']);
  assert.match(stopped, /^stopped demo\/talker [0-9a-f]{13}\n$/);
  assert.match(await cliOk(['pods', ...clientFlags(d)]), /talker\s+demo\s+NotReady/);
  const missing = await cli(['rm', ...clientFlags(d), 'nosuchpod']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no pod "nosuchpod"/);
  await cliOk(['rm', ...clientFlags(d), '--pods-dir', join(d.dir, 'play-pods'), shortPodId]);
  assert.equal(await cliOk(['pods', ...clientFlags(d), '--quiet']), '');
});

test('every command has a complete --help', async () => {
  for (const command of ['play', 'pods', 'ps', 'logs', 'exec', 'inspect', 'stop', 'rm', 'serve', 'doctor', 'config', 'image']) {
    const r = await cli([command, '--help']);
    assert.equal(r.code, 0, `${command} --help exits 0`);
    assert.match(r.stdout, /^usage:/, `${command} --help starts with usage`);
    if (!['config', 'image'].includes(command)) assert.match(r.stdout, /--socket/, `${command} --help names --socket`);
  }
  const top = await cli(['--help']);
  for (const command of ['play', 'pods', 'ps', 'logs', 'exec', 'inspect', 'stop', 'rm', 'image', 'doctor', 'config']) assert.match(top.stdout, new RegExp(`\\n  ${command}\\b`));
});
