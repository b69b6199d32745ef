#!/usr/bin/env bash
# Installs what is missing, builds yes-server in release mode and runs it;
# arguments go to yes-server (see --help). The first build compiles gRPC
# C-core (about 7 minutes on 2 cores); YES_GRPC_CCORE=system links Debian's
# C-core instead and builds in about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
exec scripts/cargo-ccore.sh run --release --bin yes-server -- "$@"
