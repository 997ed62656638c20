// npm run build: the pause binary, the TypeScript, the bundle bin/cricket runs, and the images
// built offline from Debian packages.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const step = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

step('make', ['-s', '-C', 'native']);
step(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.']);
// bin/cricket loads the CLI and the daemon as one file: resolving and reading the four hundred
// modules one by one was most of every command's start. The bundle is made from tsc's output and
// sits as deep below the repository as those modules, whose paths to build/, proto/ and
// package.json are relative to their own file. Packages that load code of their own by `require`
// get one that resolves from there.
const { build } = await import('esbuild');
await build({
  absWorkingDir: root,
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/bundle/cli/cricket.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner: { js: "import { createRequire as createBundleRequire } from 'node:module';\nconst require = createBundleRequire(import.meta.url);" },
  logLevel: 'warning',
});
step(process.execPath, ['scripts/build-images.mjs']);
