import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseProcStatusIds } from '../../src/process/proc-status-ids.js';

describe('/proc/<pid>/status ids', () => {
  it('takes the effective uid and gid and every group', () => {
    const text = 'Name:\tsleep\nUid:\t1000\t1001\t1000\t1000\nGid:\t3000\t3001\t3000\t3000\nFDSize:\t64\nGroups:\t29 44 5000 \n';
    assert.deepEqual(parseProcStatusIds(text), { uid: 1001, gid: 3001, groups: [29, 44, 5000] });
  });

  it('an empty Groups line is no groups; missing or malformed lines are no answer', () => {
    assert.deepEqual(parseProcStatusIds('Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n'), { uid: 0, gid: 0, groups: [] });
    assert.equal(parseProcStatusIds('Uid:\t0\t0\t0\t0\nGroups:\t\n'), undefined);
    assert.equal(parseProcStatusIds('Uid:\t0\tx\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n'), undefined);
    assert.equal(parseProcStatusIds('Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n'), undefined);
  });

  it('reads this process as the kernel reports it', () => {
    const ids = parseProcStatusIds(readFileSync('/proc/self/status', 'utf8'));
    assert.equal(ids?.uid, process.geteuid!());
    assert.equal(ids?.gid, process.getegid!());
  });
});
