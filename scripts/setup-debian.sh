#!/usr/bin/env bash
# Installs what building and testing yes-grpc needs on Debian, beyond Rust:
# cmake, a C++ compiler and OpenSSL's headers (grpcio-sys builds gRPC C-core
# with TLS on the system OpenSSL), Debian's own C-core with pkg-config (the
# platform C-core build mode), grpc-proto (the reference .proto files our
# copies are checked against), openssl (tests make their certificates) and a
# Python that can make virtualenvs (the reflection test installs grpcio-reflection from
# PyPI into one). Idempotent and non-interactive; works as root or via sudo.
set -euo pipefail

packages=(cmake g++ make pkg-config libssl-dev openssl libgrpc-dev grpc-proto)
# A Python that did not come from the package (as on some images) is fine.
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  packages+=(python3 python3-venv)
fi
exec "$(dirname "$0")/apt-install.sh" "${packages[@]}"
