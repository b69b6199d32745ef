#!/usr/bin/env bash
# Installs what building and testing yes-grpc needs on Debian, beyond Rust:
# a C++ compiler, make, OpenSSL's and zlib's headers and Python's pip (to
# fetch and build the pinned C-core, ccore/build.py; TLS runs on the system
# OpenSSL), pkg-config and Debian's own C-core (the platform mode),
# grpc-proto (the reference .proto files our copies are checked against),
# openssl (tests make their certificates) and a Python that can make
# virtualenvs (the reflection test installs grpcio-reflection from PyPI into
# one). Idempotent and non-interactive; works as root or via sudo.
set -euo pipefail

packages=(g++ make pkg-config libssl-dev zlib1g-dev openssl libgrpc-dev grpc-proto)
# A Python that did not come from the package (as on some images) is fine.
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  packages+=(python3 python3-venv)
fi
if ! python3 -m pip --version >/dev/null 2>&1; then
  packages+=(python3-pip)
fi
exec "$(dirname "$0")/apt-install.sh" "${packages[@]}"
