import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { withContext } from '../../src/errors.js';
import { ProgramError } from '../../src/process/run.js';
import { toServiceError } from '../../src/server/status-codes.js';

const runcUpdateFailure = (stderr: string) =>
  withContext('UpdateContainerResources c1: runc update', new ProgramError('runc', ['update', '--resources', 'r.json', 'c1'], 1, '', stderr, false));

test("runc's words for a cgroup value the kernel refused give the request's status, not INTERNAL", () => {
  const code = (stderr: string) => toServiceError(runcUpdateFailure(stderr)).code;
  // A memory limit below the usage, as runc 1.1 and as runc 1.0 say it.
  assert.equal(code('level=error msg="unable to set memory limit to 8388608 (current usage: 30384128, peak usage: 30904320)"'), status.FAILED_PRECONDITION);
  assert.equal(code('failed to write "8388608" to "/sys/fs/cgroup/memory/p/c1/memory.limit_in_bytes": write /sys/fs/cgroup/memory/p/c1/memory.limit_in_bytes: device or resource busy'), status.FAILED_PRECONDITION);
  assert.equal(code('failed to write "99" to "/sys/fs/cgroup/cpuset/p/c1/cpuset.cpus": write /sys/fs/cgroup/cpuset/p/c1/cpuset.cpus: invalid argument'), status.INVALID_ARGUMENT);
  // The container's process ended between cricket's check and runc's update.
  assert.equal(code('time="2026-12-04T17:29:11Z" level=error msg="container not running"'), status.FAILED_PRECONDITION);
  // Anything else from runc stays INTERNAL, with runc's words.
  const other = toServiceError(runcUpdateFailure('container "c1" does not have a cgroup manager'));
  assert.equal(other.code, status.INTERNAL);
  assert.match(other.details!, /^UpdateContainerResources c1: runc update: runc update --resources r.json exited with 1: container "c1"/);
});
