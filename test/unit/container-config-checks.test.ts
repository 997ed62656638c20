import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkWorkingDir } from '../../src/server/container-config-checks.js';

test('a working directory the runtime cannot make is refused; ordinary ones pass', () => {
  for (const ok of ['/', '/app', '/proc', '/sys', '/dev', '/dev/shm', '/dev/shm/work', '/devices/x', '/procedure', '/tmp/']) {
    assert.doesNotThrow(() => checkWorkingDir(ok, 'w'), ok);
  }
  for (const bad of ['/proc/self/mem', '/proc/1', '/sys/kernel', '/dev/zero', '/dev/null/sub', '/dev/./zero', '//proc//self', '/dev/pts/../zero', 'relative']) {
    assert.throws(() => checkWorkingDir(bad, 'w'), /working|cannot be a directory|not absolute/, bad);
  }
});
