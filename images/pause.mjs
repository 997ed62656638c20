// The built-in pause image: one layer holding /pause, the static binary from native/pause.c.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeImage, makeLayer } from './lib/oci.mjs';

export const name = 'pause';
export const ref = 'cricket.local/pause:built-in';

/** Builds the binary (make skips it when up to date) and returns what the image is made of. */
export function prepare({ repoRoot, buildDir, log }) {
  const out = join(buildDir, 'native');
  log(`make -C native OUT=${out}`);
  execFileSync('make', ['-s', '-C', join(repoRoot, 'native'), `OUT=${out}`], { stdio: ['ignore', 'inherit', 'inherit'] });
  const binary = readFileSync(join(out, 'pause'));
  return {
    inputs: [binary],
    build: () => makeImage({
      ref,
      config: {
        Entrypoint: ['/pause'],
        User: '65535:65535',
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        WorkingDir: '/',
        StopSignal: 'SIGTERM',
      },
      // Mount points runc needs: present in the image, runc never has to create them in the
      // shared (read-only) layer directory the sandbox uses as its root.
      layers: [makeLayer([
        { path: 'dev/', type: 'dir', mode: 0o755 },
        { path: 'etc/', type: 'dir', mode: 0o755 },
        { path: 'proc/', type: 'dir', mode: 0o555 },
        { path: 'sys/', type: 'dir', mode: 0o555 },
        { path: 'pause', data: binary, mode: 0o755 },
      ])],
      history: ['COPY native/pause /pause'],
    }),
  };
}
