// npm run bench: builds, then runs the benchmarks as root against a private daemon.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
execFileSync(process.execPath, ['dist/bench/lifecycle.js'], { cwd: root, stdio: 'inherit' });
// The puller runs in this process: its info lines would bury the figures.
execFileSync(process.execPath, ['dist/bench/pull.js'], { cwd: root, stdio: 'inherit', env: { ...process.env, CRICKET_LOG_LEVEL: process.env.CRICKET_LOG_LEVEL ?? 'warn' } });
execFileSync(process.execPath, ['dist/bench/play.js'], { cwd: root, stdio: 'inherit', env: { ...process.env, CRICKET_LOG_LEVEL: process.env.CRICKET_LOG_LEVEL ?? 'warn' } });
