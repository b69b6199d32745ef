#!/usr/bin/env bash
# Installs what is missing, builds yes-server in release mode and runs it;
# arguments go to yes-server (see --help). The first run builds gRPC C-core
# (ccore/pinned.env) into ~/.cache/yes-grpc (ccore/build.py, with a progress count);
# later runs start in seconds. YES_GRPC_CCORE=system links Debian's C-core
# instead and builds in about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
exec scripts/cargo-ccore.sh run --release --bin yes-server -- "$@"
