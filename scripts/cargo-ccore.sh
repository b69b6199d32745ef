#!/usr/bin/env bash
# Runs cargo against one C-core, each in a target directory of its own so
# that switching never rebuilds (or, worse, silently reuses) the other:
#   YES_GRPC_CCORE=pinned  the C-core of ccore/pinned.env, built once by ccore/build.py
#                          into ~/.cache/yes-grpc (the default)
#   YES_GRPC_CCORE=system  the platform's C-core found by pkg-config
#                          (Debian's libgrpc-dev 1.51, or any C-core from
#                          1.51 up whose grpc.pc is on PKG_CONFIG_PATH)
# Target directories: ${CARGO_TARGET_DIR:-target}/pinned and .../system.
# Usage: scripts/cargo-ccore.sh CARGO-ARGS...
#        scripts/cargo-ccore.sh --print-target-dir
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

mode=${YES_GRPC_CCORE:-pinned}
case "$mode" in
  pinned) python3 "$root/ccore/build.py" >/dev/null ;;
  system) ;;
  bundled)
    echo "YES_GRPC_CCORE=bundled is retired: grpcio-sys's bundled C-core 1.56.2 lacks" \
      "three years of security fixes (docs/security.md); use pinned or system" >&2
    exit 2 ;;
  *) echo "YES_GRPC_CCORE must be pinned or system, not '$mode'" >&2; exit 2 ;;
esac
export YES_GRPC_CCORE=$mode
# YES_GRPC_TARGET_DIR, when set, is the target directory exactly: this
# script sets it for what it runs, so a script that a test runs (as
# tests/systemd.rs runs scripts/package-deb.sh) builds where the test was
# built instead of in a directory below it.
export CARGO_TARGET_DIR=${YES_GRPC_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}/$mode}
export YES_GRPC_TARGET_DIR=$CARGO_TARGET_DIR
if [ "${1:-}" = --print-target-dir ]; then
  echo "$CARGO_TARGET_DIR"
  exit 0
fi
exec cargo "$@"
