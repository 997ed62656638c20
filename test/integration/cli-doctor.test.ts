// cricket doctor against this node and the test daemon; cricket config default round-trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, defaultConfig } from '../../src/config/config.js';
import { useCricket } from '../harness/cricket.js';
import { cli, cliOk, clientFlags } from '../harness/play.js';
import { findPluginBinary } from '../../src/network/config.js';

const d = useCricket();
const SYSTEM_BIN_DIRS = ['/opt/cni/bin', '/usr/lib/cni'];

function binDirWith(name: string, plugins: string[]): string {
  const dir = join(d.dir, name);
  mkdirSync(dir);
  for (const p of plugins) symlinkSync(findPluginBinary(p, SYSTEM_BIN_DIRS)!, join(dir, p));
  return dir;
}

test('doctor names a CNI plugin missing from the bin dir, with the fix, and exits 1', async () => {
  const confDir = join(d.dir, 'empty-net.d');
  mkdirSync(confDir);
  const bin = binDirWith('bin-without-portmap', ['bridge', 'host-local', 'loopback']);
  const r = await cli(['doctor', ...clientFlags(d), '--root', d.root, '--cni-conf-dir', confDir, '--cni-bin-dir', bin]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, new RegExp(`FAIL  CNI plugins +portmap not found in ${bin} \\(needed by the embedded network\\)`));
  assert.match(r.stdout, new RegExp(`fix: apt-get install containernetworking-plugins, or copy portmap into one of ${bin}`));
  assert.match(r.stdout, /ok +socket +.*cricket/, 'the test daemon answers on its socket');
  assert.match(r.stdout, /1 required check\(s\) failed/);

  const full = binDirWith('bin-full', ['bridge', 'host-local', 'loopback', 'portmap']);
  const good = await cli(['doctor', ...clientFlags(d), '--root', d.root, '--cni-conf-dir', confDir, '--cni-bin-dir', full]);
  assert.match(good.stdout, /ok +CNI plugins +bridge, host-local, portmap, loopback/);
  assert.equal(good.code, 0, good.stdout);

  // A configuration file's plugins are the ones checked, and a broken file is named.
  const confWithTuning = join(d.dir, 'tuning-net.d');
  mkdirSync(confWithTuning);
  writeFileSync(join(confWithTuning, '10-x.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'x', plugins: [{ type: 'bridge', ipam: { type: 'host-local' } }, { type: 'tuning' }] }));
  const tuning = await cli(['doctor', ...clientFlags(d), '--root', d.root, '--cni-conf-dir', confWithTuning, '--cni-bin-dir', full]);
  assert.equal(tuning.code, 1);
  assert.match(tuning.stdout, /FAIL  CNI plugins +tuning not found .*needed by .*10-x\.conflist/);
});

test('config default prints every setting, and reading it back gives the defaults', async () => {
  const text = await cliOk(['config', 'default']);
  for (const key of ['socket', 'root', 'state_dir', 'runc', 'conmon', 'pause_image', '[cni]', 'bin_dirs', '[streaming]', '[metrics]', '[registries.']) assert.ok(text.includes(key), key);
  const file = join(d.dir, 'default.toml');
  writeFileSync(file, text);
  assert.deepEqual(loadConfig({ config: file }), defaultConfig());
});
