#!/usr/bin/env bash
# Two cricket "nodes" on one machine, wired the way flannel's host-gw backend wires a cluster:
# each daemon runs in a network namespace (and a private mount namespace) of its own with its
# own socket, root, state dir, bridge and pod CIDR; a veth pair is the link between the nodes;
# each node routes the other's pod CIDR via the other's address. Nothing is added to the host's
# own network namespace.
#
#   scripts/two-nodes.sh up     make the nodes, start a cricket in each, hand out pod CIDRs, add routes
#   scripts/two-nodes.sh down   stop every pod and daemon, delete the namespaces (and the link with them)
#
# Settings (environment; `up` records them in $CRICKET_NODES_DIR/nodes.env, which `down` reads):
#   CRICKET_NODES_DIR      state of both nodes (default /tmp/cricket-nodes)
#   CRICKET_NODES_PREFIX   network namespace names are PREFIX-a and PREFIX-b (default cricket-node)
#   CRICKET_NODES_NET      node link IPv4 /24 as its first three octets (default 192.168.230)
#   CRICKET_NODES_NET6     node link IPv6 /64 prefix (default fd00:c0a8:e6::)
#   CRICKET_POD_CIDR_A/B   pod CIDR of each node, "V4", "V6" or "V4,V6" (default 10.244.1.0/24, 10.244.2.0/24)
#   CRICKET_NODES_BRIDGE   the pod bridge inside each node (default cbr0)
#   CRICKET_NODES_CONFIG   a config.toml for both daemons, e.g. with [cni] conf_template (default none)
#   CRICKET_NODES_IMPORT   "0" skips importing the busybox image into each node's root
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
cricket="$repo/bin/cricket"
cri_call="$repo/scripts/cri-call.mjs"
dir=${CRICKET_NODES_DIR:-/tmp/cricket-nodes}
env_file="$dir/nodes.env"

die() { echo "two-nodes: $*" >&2; exit 1; }
log() { echo "two-nodes: $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (it creates network namespaces)"

load_settings() {
  if [ -f "$env_file" ]; then
    # shellcheck disable=SC1090
    . "$env_file"
  fi
  PREFIX=${PREFIX:-${CRICKET_NODES_PREFIX:-cricket-node}}
  NET=${NET:-${CRICKET_NODES_NET:-192.168.230}}
  NET6=${NET6:-${CRICKET_NODES_NET6:-fd00:c0a8:e6::}}
  POD_CIDR_A=${POD_CIDR_A:-${CRICKET_POD_CIDR_A:-10.244.1.0/24}}
  POD_CIDR_B=${POD_CIDR_B:-${CRICKET_POD_CIDR_B:-10.244.2.0/24}}
  BRIDGE=${BRIDGE:-${CRICKET_NODES_BRIDGE:-cbr0}}
  CONFIG=${CONFIG:-${CRICKET_NODES_CONFIG:-}}
  NS_A="$PREFIX-a"
  NS_B="$PREFIX-b"
  ADDR_A="$NET.1"
  ADDR_B="$NET.2"
  ADDR6_A="${NET6}1"
  ADDR6_B="${NET6}2"
}

write_settings() {
  umask 077
  cat >"$env_file" <<EOF
PREFIX=$PREFIX
NET=$NET
NET6=$NET6
POD_CIDR_A=$POD_CIDR_A
POD_CIDR_B=$POD_CIDR_B
BRIDGE=$BRIDGE
CONFIG=$CONFIG
NS_A=$NS_A
NS_B=$NS_B
ADDR_A=$ADDR_A
ADDR_B=$ADDR_B
ADDR6_A=$ADDR6_A
ADDR6_B=$ADDR6_B
SOCKET_A=$dir/a/cricket.sock
SOCKET_B=$dir/b/cricket.sock
ROOT_A=$dir/a/root
ROOT_B=$dir/b/root
EOF
}

# Routes in namespace $1 to every range of the peer's pod CIDR $2, via the peer's addresses.
add_peer_routes() {
  local ns=$1 cidrs=$2 via4=$3 via6=$4 cidr
  IFS=',' read -ra list <<<"$cidrs"
  for cidr in "${list[@]}"; do
    cidr=${cidr// /}
    if [[ $cidr == *:* ]]; then
      ip -n "$ns" -6 route replace "$cidr" via "$via6" dev nodelink || return 1
    else
      ip -n "$ns" route replace "$cidr" via "$via4" dev nodelink || return 1
    fi
  done
}

start_node() {
  local name=$1 ns=$2 node_dir="$dir/$1"
  mkdir -p -m 0700 "$node_dir" "$node_dir/net.d" "$node_dir/state" || return 1
  # The node's state dir is a tmpfs mounted here, in the host's mount namespace: the daemon keeps
  # it as it is, and the clean-up below still sees runc's state after the daemon is gone.
  mount -t tmpfs -o mode=0711,size=64m cricket-node-state "$node_dir/state" || return 1
  if [ "${CRICKET_NODES_IMPORT:-1}" != 0 ] && [ -d "$repo/build/images/busybox" ]; then
    node "$cricket" image import "$repo/build/images/busybox" --name cricket.local/busybox:latest --root "$node_dir/root" >/dev/null || return 1
  fi
  local args=(serve --socket "$node_dir/cricket.sock" --root "$node_dir/root" --state-dir "$node_dir/state"
    --cni-conf-dir "$node_dir/net.d" --cni-bridge "$BRIDGE" --config "${CONFIG:-/dev/null}")
  # nsenter and unshare exec in place: $! is the daemon itself. The private mount namespace keeps
  # the node's netns pins and overlay mounts out of the host's mount table. (`ip netns exec` would
  # remount /sys for the namespace and so hide the cgroup mounts runc needs.)
  CRICKET_LOG_LEVEL=${CRICKET_LOG_LEVEL:-info} setsid nsenter --net="/run/netns/$ns" unshare -m --propagation private \
    "$(command -v node)" "$cricket" "${args[@]}" </dev/null >>"$node_dir/daemon.log" 2>&1 &
  echo $! >"$node_dir/daemon.pid"
  node "$cri_call" "$node_dir/cricket.sock" wait 30 || { tail -n 20 "$node_dir/daemon.log" >&2; return 1; }
}

up() {
  load_settings
  [ -e "$env_file" ] && die "$dir already holds nodes ($env_file); run down first"
  command -v unshare >/dev/null && command -v nsenter >/dev/null || die "unshare and nsenter (util-linux) are missing"
  [ -f "$cricket" ] || die "$cricket is missing; build first"
  mkdir -p -m 0700 "$dir" || die "cannot create $dir"
  write_settings
  ip netns add "$NS_A" || return 1
  ip netns add "$NS_B" || return 1
  # The node link: a veth pair whose ends live only inside the two node namespaces.
  ip link add nodelink netns "$NS_A" type veth peer name nodelink netns "$NS_B" || return 1
  local ns addr addr6
  for ns in "$NS_A" "$NS_B"; do
    if [ "$ns" = "$NS_A" ]; then addr=$ADDR_A addr6=$ADDR6_A; else addr=$ADDR_B addr6=$ADDR6_B; fi
    ip -n "$ns" link set lo up || return 1
    ip -n "$ns" addr add "$addr/24" dev nodelink || return 1
    ip -n "$ns" -6 addr add "$addr6/64" dev nodelink nodad || return 1
    ip -n "$ns" link set nodelink up || return 1
    # Forwarding inside the node only: the host's own setting is untouched.
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1
  done
  start_node a "$NS_A" || return 1
  start_node b "$NS_B" || return 1
  # What kubelet does on each node once the node object has its spec.podCIDRs.
  node "$cri_call" "$dir/a/cricket.sock" pod-cidr "$POD_CIDR_A" || return 1
  node "$cri_call" "$dir/b/cricket.sock" pod-cidr "$POD_CIDR_B" || return 1
  # host-gw: the peer's pods are one hop away, behind the peer node's address.
  add_peer_routes "$NS_A" "$POD_CIDR_B" "$ADDR_B" "$ADDR6_B" || return 1
  add_peer_routes "$NS_B" "$POD_CIDR_A" "$ADDR_A" "$ADDR6_A" || return 1
  log "node a: netns $NS_A, $ADDR_A, pods $POD_CIDR_A, socket $dir/a/cricket.sock"
  log "node b: netns $NS_B, $ADDR_B, pods $POD_CIDR_B, socket $dir/b/cricket.sock"
}

# The daemon's pid, if the recorded one is still that daemon (a stored pid is not a process).
daemon_pid() {
  local node_dir=$1 pid
  pid=$(cat "$node_dir/daemon.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--socket $node_dir/cricket.sock" || return 1
  echo "$pid"
}

stop_node() {
  local name=$1 ns=$2 node_dir="$dir/$1" pid i id
  [ -d "$node_dir" ] || return 0
  if pid=$(daemon_pid "$node_dir"); then
    node "$cri_call" "$node_dir/cricket.sock" remove-all-pods || log "node $name: removing pods through CRI failed; cleaning up by force"
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  # Containers the daemon could not remove: runc kills them and frees their cgroups.
  if [ -d "$node_dir/state/runc" ]; then
    for id in $(runc --root "$node_dir/state/runc" list -q 2>/dev/null); do
      runc --root "$node_dir/state/runc" delete --force "$id" >/dev/null 2>&1 || log "node $name: runc delete $id failed"
    done
  fi
  # Whatever still runs in the node's namespace (conmon of a pod that could not be removed).
  if ip netns list | grep -qE -- "^$ns( |\$)"; then
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  fi
}

down() {
  load_settings
  local rc=0 ns name
  stop_node a "$NS_A"
  stop_node b "$NS_B"
  for name in a b; do
    if mountpoint -q "$dir/$name/state"; then umount "$dir/$name/state" || rc=1; fi
  done
  for ns in "$NS_A" "$NS_B"; do
    # Deleting the namespace deletes its end of the link, its bridge, routes and rules with it.
    if ip netns list | grep -qE -- "^$ns( |\$)"; then
      ip netns del "$ns" || rc=1
    fi
  done
  rm -rf -- "$dir/a" "$dir/b" "$env_file"
  rmdir -- "$dir" 2>/dev/null
  return $rc
}

case "${1:-}" in
  up) up || { log "up failed; undoing"; down; exit 1; } ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
