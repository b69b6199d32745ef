#!/usr/bin/env bash
# Installs what building and testing yes-grpc needs on Debian, beyond Rust:
# cmake and a C++ compiler (grpcio-sys builds gRPC C-core), and Debian's own
# C-core with pkg-config (the platform C-core build mode). Idempotent and
# non-interactive; works as root or through sudo.
set -euo pipefail

packages=(cmake g++ make pkg-config libgrpc-dev)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
echo "setup-debian: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
