#!/usr/bin/env bash
# Makes this Debian host ready to build and run cricket: the Debian packages it drives (runc,
# crun, conmon, CNI plugins) and builds with (protoc, musl-gcc), and the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(runc crun conmon containernetworking-plugins iptables iproute2 util-linux attr criu
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

# Image pulls: zstd decompresses zstd layers. The tests run Debian's distribution registry
# (docker-registry), make certificates (openssl) and htpasswd files (apache2-utils), and read
# ext4's file attributes (lsattr, e2fsprogs). The
# registry's own service must not start on install (it would listen on :5000): a policy-rc.d
# holds it back while apt runs.
image_packages=(zstd docker-registry apache2-utils openssl e2fsprogs)
missing=()
for p in "${image_packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "cricket's image pulls and tests need these Debian packages; run as root to install them: ${missing[*]}" >&2
    exit 1
  fi
  echo "installing ${missing[*]}" >&2
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }
  [ $made_policy = 0 ] || rm -f /usr/sbin/policy-rc.d
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
