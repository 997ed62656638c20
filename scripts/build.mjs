// npm run build: the pause binary, the TypeScript, and the images built offline from Debian packages.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const step = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

step('make', ['-s', '-C', 'native']);
step(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.']);
step(process.execPath, ['scripts/build-images.mjs']);
