#!/usr/bin/env bash
# Installs what building and testing yes-grpc needs on Debian, beyond Rust:
# cmake and a C++ compiler (grpcio-sys builds gRPC C-core), and Debian's own
# C-core with pkg-config (the platform C-core build mode). Idempotent and
# non-interactive; works as root or through sudo.
set -euo pipefail
exec "$(dirname "$0")/apt-install.sh" cmake g++ make pkg-config libgrpc-dev
