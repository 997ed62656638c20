// Paths in the daemon's configuration: a command line's relative path is taken from the working
// directory, as a shell user means it; a config file's must be absolute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';

test('relative paths on the command line are resolved from the working directory', () => {
  const cwd = process.cwd();
  const config = loadConfig({ config: '/dev/null', root: 'data/root', 'state-dir': './state', socket: 'cricket.sock', 'cni-conf-dir': 'net.d', 'cni-bin-dir': 'bin:/opt/cni/bin', runc: './tools/runc', conmon: 'conmon' });
  assert.equal(config.root, join(cwd, 'data/root'));
  assert.equal(config.stateDir, join(cwd, 'state'));
  assert.equal(config.socket, join(cwd, 'cricket.sock'));
  assert.equal(config.cni.confDir, join(cwd, 'net.d'));
  assert.deepEqual(config.cni.binDirs, [join(cwd, 'bin'), '/opt/cni/bin']);
  assert.equal(config.runc, join(cwd, 'tools/runc'));
  assert.equal(config.conmon, 'conmon', 'a bare program name stays for the PATH lookup');
  assert.equal(loadConfig({ config: '/dev/null', root: '/var/lib/x/../cricket' }).root, '/var/lib/cricket');
});

test('a config file\'s relative path is refused with its key; absolute ones and bare program names are taken', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cricket-unit-config-paths-'));
  const file = join(dir, 'config.toml');
  try {
    const cases: [string, RegExp][] = [
      ['root = "var/lib/cricket"\n', /root must be an absolute path/],
      ['state_dir = "run"\n', /state_dir must be an absolute path/],
      ['socket = "cricket.sock"\n', /socket must be an absolute path/],
      ['runc = "bin/runc"\n', /runc must be an absolute path/],
      ['[cni]\nconf_dir = "net.d"\n', /cni\.conf_dir must be an absolute path/],
      ['[cni]\nbin_dirs = ["/opt/cni/bin", "plugins"]\n', /cni\.bin_dirs\[1\] must be an absolute path/],
      ['[cni]\nconf_template = "template.json"\n', /cni\.conf_template must be an absolute path/],
      ['cdi_spec_dirs = ["cdi"]\n', /cdi_spec_dirs\[0\] must be an absolute path/],
    ];
    for (const [toml, pattern] of cases) {
      writeFileSync(file, toml);
      assert.throws(() => loadConfig({ config: file }), pattern, toml);
    }
    writeFileSync(file, 'root = "/srv/cricket"\nstate_dir = "/run/c"\nrunc = "runc"\nconmon = "/usr/local/bin/conmon"\n[cni]\nconf_template = ""\n');
    const config = loadConfig({ config: file });
    assert.deepEqual([config.root, config.stateDir, config.runc, config.conmon, config.cni.confTemplate], ['/srv/cricket', '/run/c', 'runc', '/usr/local/bin/conmon', '']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
