// Runs the cricket CLI against a test daemon, with the test's own pods dir, log root and cgroup parent.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CRICKET, REPO, TEST_CGROUP_PARENT, type TestDaemon } from './cricket.js';

export const EXAMPLES = join(REPO, 'examples');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function clientFlags(d: TestDaemon): string[] {
  return ['--socket', d.socket, '--config', '/dev/null'];
}

export function playFlags(d: TestDaemon): string[] {
  return [...clientFlags(d), '--pods-dir', join(d.dir, 'play-pods'), '--log-root', join(d.dir, 'pod-logs'), '--cgroup-parent', `/${TEST_CGROUP_PARENT}`];
}

/** One CLI run to completion (bounded), its exit code and output. */
export function cli(args: string[], input?: string, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [CRICKET, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`cricket ${args.join(' ')}: ${err.message}\n${stderr}`));
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

export async function cliOk(args: string[], input?: string): Promise<string> {
  const r = await cli(args, input);
  if (r.code !== 0) throw new Error(`cricket ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** The IP `cricket play` printed for a pod. */
export function podIpFrom(stdout: string, name: string): string {
  const m = new RegExp(`pod [a-z0-9-]+/${name}: sandbox [0-9a-f]+ ready, IP ([0-9.]+)`).exec(stdout);
  if (!m) throw new Error(`no IP for ${name} in:\n${stdout}`);
  return m[1]!;
}

/** A long-running CLI (play --watch, logs -f) whose output is collected as it comes. */
export interface Background {
  child: ChildProcess;
  output(): string;
  waitFor(match: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  stop(): Promise<number | null>;
  /** Its own exit (bounded), without signalling it. */
  exit(timeoutMs?: number): Promise<number | null>;
}

export function background(args: string[]): Background {
  const child = spawn(process.execPath, [CRICKET, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    async waitFor(match, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = match.exec(out);
        if (m) return m;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${match} in:\n${out}`);
        if (child.exitCode !== null) throw new Error(`cricket exited ${child.exitCode} before ${match}:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async exit(timeoutMs = 30_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`cricket ${args[0]} did not exit within ${timeoutMs} ms:\n${out}`)), timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
