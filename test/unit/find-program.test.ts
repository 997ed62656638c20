// Programs cricket runs as root (runc, conmon, CNI plugins) are looked up in absolute PATH
// entries only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProgram } from '../../src/process/find-program.js';

test('a relative PATH entry is passed over, an absolute one is searched in order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cricket-unit-find-program-'));
  const cwd = process.cwd();
  try {
    writeFileSync(join(dir, 'tool'), '#!/bin/sh\n');
    chmodSync(join(dir, 'tool'), 0o755);
    process.chdir(dir);
    // "", "." and "." spelled otherwise all name the working directory, which holds a tool.
    for (const path of ['', '.', ':', './', `.:${dir}-missing`]) {
      assert.throws(() => findProgram('tool', path), /tool not found/, JSON.stringify(path));
    }
    assert.equal(findProgram('tool', `.:/nonexistent:${dir}`), join(dir, 'tool'));
    assert.equal(findProgram(join(dir, 'tool'), ''), join(dir, 'tool'), 'an absolute name is taken as it is');
    assert.equal(findProgram('sh', '/usr/bin:/bin').endsWith('/sh'), true);
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});
