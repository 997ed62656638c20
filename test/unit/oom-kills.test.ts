// The OOM killer's count in a memory cgroup's event file, as cgroup v2 and v1 word it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oomKillCount } from '../../src/container/oom-kills.js';

test('oom_kill is read from v2 memory.events and v1 memory.oom_control', () => {
  assert.equal(oomKillCount('low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n'), 2);
  assert.equal(oomKillCount('oom_kill_disable 0\nunder_oom 0\noom_kill 1\n'), 1);
});

test('no oom_kill line, or another key that starts alike, counts none', () => {
  assert.equal(oomKillCount(''), 0);
  assert.equal(oomKillCount('oom_kill_disable 0\nunder_oom 0\n'), 0);
  assert.equal(oomKillCount('oom_group_kill 3\n'), 0);
  assert.equal(oomKillCount('oom_kill 0\n'), 0);
});
