// `cricket config default`: every setting of /etc/cricket/config.toml at its default, explained.
import { defaultConfig } from '../config/config.js';

export const CONFIG_USAGE = `usage: cricket config default

Prints the full default configuration (TOML, with comments) for /etc/cricket/config.toml:
  cricket config default > /etc/cricket/config.toml
Command-line flags of cricket serve override the file.

options:
  -h, --help   this text
`;

const q = (s: string) => JSON.stringify(s);

export function defaultConfigToml(): string {
  const c = defaultConfig();
  return `# cricket's configuration: /etc/cricket/config.toml (another with --config FILE).
# Every key is shown at its default; flags of \`cricket serve\` override the file.

# The CRI socket kubelet, crictl and cricket's CLI connect to.
socket = ${q(c.socket)}

# Persistent state: images, layers, pod and container records, writable layers.
root = ${q(c.root)}

# Volatile state (a tmpfs on most hosts): runc state, pinned netns, exit files, bundles.
state_dir = ${q(c.stateDir)}

# The OCI runtime (a name is looked up on PATH), and the per-container monitor: "built-in" is
# cricket's own; a conmon (its name or path) may be named instead.
runc = ${q(c.runc)}
conmon = ${q(c.conmon)}

# The image of every pod's pause process; the built-in one needs no registry.
pause_image = ${q(c.pauseImage)}

# Before runc moves a container's process into its cgroups, move the daemon into its own cgroup
# (changing nothing) so that the kernel's cgroup migration lock is ready for runc: runc then does
# not wait for an RCU grace period (5-11 ms on the nodes measured) at each container start and exec.
prime_cgroup_lock = ${c.primeCgroupLock}

[cni]
# Network configurations (*.conflist, *.conf); the first in name order is the pod network.
conf_dir = ${q(c.cni.confDir)}
# Where CNI plugins are looked for, in order.
bin_dirs = [${c.cni.binDirs.map(q).join(', ')}]
# With no configuration in conf_dir, cricket's own bridge network: its bridge and subnet.
default_bridge = ${q(c.cni.defaultBridge)}
default_subnet = ${q(c.cni.defaultSubnet)}

[streaming]
# The exec / attach / port-forward server whose URLs Exec, Attach and PortForward return.
# Keep it on loopback unless the API server reaches the node through it; 0: any free port.
address = ${q(c.streaming.address)}
port = ${c.streaming.port}

[metrics]
# Prometheus metrics at http://ADDRESS:PORT/metrics: RPC latencies and errors, pod start steps,
# pods and containers by state, process figures. Off by default; never on the CRI socket.
enabled = ${c.metrics.enabled}
address = ${q(c.metrics.address)}
port = ${c.metrics.port}

# Per registry host, as image references name it ("docker.io", "registry.local:5000"):
# [registries."registry.local:5000"]
# mirrors = ["https://mirror.local"]   # tried in order before the registry itself
# ca_files = ["/etc/cricket/certs/registry.pem"]   # trusted besides the system's CAs
# insecure = false                     # true: plain HTTP or unverified TLS
# username = "user"                    # credentials when kubelet sends none
# password = "secret"
# auth = "dXNlcjpzZWNyZXQ="            # or base64("user:password")
`;
}

export async function configCommand(positional: string[], flags: Record<string, string>): Promise<number> {
  if (flags.help || positional[0] !== 'default' || positional.length !== 1) {
    (flags.help ? process.stdout : process.stderr).write(CONFIG_USAGE);
    return flags.help ? 0 : 2;
  }
  process.stdout.write(defaultConfigToml());
  return 0;
}
