// A CNI plugin for tests that must hold a pod's network step open or make it fail.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_BRIDGE, TEST_SUBNET, type StartOptions } from './cricket.js';

/**
 * Passes the previous result through. While "<dir>/hold-add" (or hold-del) exists, ADD (DEL)
 * first says so in "<dir>/held-add" and waits until "release" appears or its caller dies; while
 * "<dir>/fail-ADD" (fail-DEL) exists, that command fails.
 */
export const HOLDING_PLUGIN = `#!/bin/sh
input=$(cat)
dir=$(dirname "$0")
if [ "$CNI_COMMAND" = ADD ] && [ -e "$dir/hold-add" ]; then
  touch "$dir/held-add"
  while [ ! -e "$dir/release" ] && kill -0 $PPID 2>/dev/null; do sleep 0.05; done
fi
if [ "$CNI_COMMAND" = DEL ] && [ -e "$dir/hold-del" ]; then
  touch "$dir/held-del"
  while [ ! -e "$dir/release" ] && kill -0 $PPID 2>/dev/null; do sleep 0.05; done
fi
if [ -e "$dir/fail-$CNI_COMMAND" ]; then
  echo '{"cniVersion":"1.0.0","code":999,"msg":"failing on purpose"}'
  exit 1
fi
if [ "$CNI_COMMAND" = VERSION ]; then echo '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}'; exit 0; fi
if [ "$CNI_COMMAND" = ADD ]; then
  printf '%s' "$input" | sed -n 's/.*"prevResult":\\(.*\\)}$/\\1/p'
fi
exit 0
`;

/** Daemon options for a network of the bridge plugin followed by the holding plugin (in <dir>/cni-bin). */
export function holdingNetwork(name: string): Pick<StartOptions, 'cniBinDirs' | 'cniConfList'> {
  return {
    cniBinDirs: (dir) => {
      const bin = join(dir, 'cni-bin');
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'holding'), HOLDING_PLUGIN);
      chmodSync(join(bin, 'holding'), 0o755);
      return [bin];
    },
    cniConfList: (dir) => ({
      cniVersion: '1.0.0',
      name,
      plugins: [
        { type: 'bridge', bridge: TEST_BRIDGE, isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: TEST_SUBNET }]], dataDir: join(dir, 'root', 'cni') } },
        { type: 'holding' },
      ],
    }),
  };
}
