// Every command's --help names every flag its parser takes (the list the parser itself refuses
// others by), and the top-level help names every command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMAND_FLAGS, type CommandFlags } from '../../src/cli/command-flags.js';

const CRICKET = join(fileURLToPath(new URL('../../../', import.meta.url)), 'bin', 'cricket');

function cricket(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CRICKET, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, CRICKET_LOG_LEVEL: 'warn' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('cricket --help names every command', () => {
  const r = cricket(['--help']);
  assert.equal(r.code, 0);
  for (const command of Object.keys(COMMAND_FLAGS)) {
    assert.match(r.stdout, new RegExp(`^  ${escape(command)}\\b`, 'm'), `cricket --help lists ${command}`);
  }
});

for (const [command, spec] of Object.entries(COMMAND_FLAGS) as [string, CommandFlags][]) {
  test(`cricket ${command} --help names all its flags`, () => {
    const r = cricket([command, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^usage:(\\s+cricket ${escape(command)}\\b)?`, 'm'));
    assert.equal(cricket(['help', command]).stdout, r.stdout, 'cricket help COMMAND says the same');
    const missing = [...spec.boolean, ...spec.value]
      .filter((flag) => !new RegExp(`(^|[\\s\\[,(])--${escape(flag)}(?![\\w-])`).test(r.stdout))
      .map((flag) => `--${flag}`);
    for (const letter of Object.keys(spec.short ?? {})) {
      if (!new RegExp(`(^|[\\s\\[,(])-[A-Za-z]*${letter}[A-Za-z]*(?![\\w-])`).test(r.stdout)) missing.push(`-${letter}`);
    }
    assert.deepEqual(missing, [], `flags cricket ${command} takes that its --help does not name`);
  });
}

test('a flag a command does not take is refused, naming the command', () => {
  const r = cricket(['ps', '--no-such-flag']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cricket ps: unknown flag --no-such-flag/);
  // A flag of another command is not taken either.
  assert.match(cricket(['pods', '--watch']).stderr, /unknown flag --watch/);
});
