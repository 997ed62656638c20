#!/usr/bin/env bash
# Makes this Debian host ready to build and run cricket: the Debian packages it drives (runc,
# conmon, CNI plugins) and builds with (protoc, musl-gcc), and the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(runc conmon containernetworking-plugins iptables iproute2 util-linux attr
  protobuf-compiler musl-tools make gcc libc6-dev ca-certificates)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "cricket needs these Debian packages; run as root to install them: ${missing[*]}" >&2
    exit 1
  fi
  echo "installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
