#!/usr/bin/env bash
# Runs cargo against one of the two C-cores, each in a target directory of
# its own so neither build invalidates the other:
#   YES_GRPC_CCORE=bundled  grpcio-sys builds its bundled C-core (default)
#   YES_GRPC_CCORE=system   link Debian's libgrpc through pkg-config
# Target directories: ${CARGO_TARGET_DIR:-target}/bundled and .../system.
# Usage: scripts/cargo-ccore.sh CARGO-ARGS...
set -euo pipefail

mode=${YES_GRPC_CCORE:-bundled}
base=${CARGO_TARGET_DIR:-$(cd "$(dirname "$0")/.." && pwd)/target}
case "$mode" in
  bundled) unset GRPCIO_SYS_USE_PKG_CONFIG ;;
  system) export GRPCIO_SYS_USE_PKG_CONFIG=1 ;;
  *) echo "YES_GRPC_CCORE must be bundled or system, not '$mode'" >&2; exit 2 ;;
esac
export CARGO_TARGET_DIR="$base/$mode"
exec cargo "$@"
