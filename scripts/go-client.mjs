// Builds bench/go-client (the relist calls made by grpc-go, as kubelet makes them) with Debian's
// Go and grpc-go, offline: GOPATH mode on /usr/share/gocode, where Debian's Go library packages live.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const GOCODE = '/usr/share/gocode';
const GRPC = join(GOCODE, 'src/google.golang.org/grpc');

/** Installs Debian's Go and grpc-go when they are missing. */
export function ensureGoClientTools(log) {
  if (existsSync('/usr/bin/go') && existsSync(GRPC)) return;
  log('installing Debian\'s Go and grpc-go for the grpc-go client');
  const apt = (args) => execFileSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const install = ['install', '-y', '--no-install-recommends', 'golang-go', 'golang-google-grpc-dev'];
  try {
    apt(install);
  } catch {
    // Package lists that were never fetched, or are stale: fetch them once and try again.
    apt(['update']);
    apt(install);
  }
}

/** Builds build/bench/cri-go-client; false when Go or grpc-go is not installed. */
export function buildGoClient(repo, log) {
  if (!existsSync('/usr/bin/go') || !existsSync(GRPC)) {
    log('no Go or grpc-go here: the relist and the lifecycles run with the grpc-js client only');
    return false;
  }
  const out = join(repo, 'build/bench');
  const binary = join(out, 'cri-go-client');
  mkdirSync(out, { recursive: true });
  // A binary from an older build must not stand in for one that no longer builds.
  rmSync(binary, { force: true });
  try {
    execFileSync('go', ['build', '-trimpath', '-o', binary, '.'], {
      cwd: join(repo, 'bench/go-client'),
      stdio: 'inherit',
      env: { ...process.env, GO111MODULE: 'off', GOPATH: GOCODE, GOCACHE: join(repo, 'build/go-cache'), GOFLAGS: '' },
    });
  } catch (err) {
    log(`the grpc-go client did not build (${err.message}): the relist and the lifecycles run with the grpc-js client only`);
    return false;
  }
  return true;
}
