#!/usr/bin/env bash
# Measures yes-server against the sample's grpc-java server (a faithful port,
# interop/java/src/yes/reference) and a bare grpcio floor, side by side, and
# prints a table; writes CSV, JSON and SVG under TARGET/bench-compare.
# Installs what is missing first. About 12 minutes (--quick: about 4), plus the
# first release build (YES_GRPC_CCORE picks the C-core, default pinned 1.85.1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
interop/java/setup-debian.sh
exec scripts/cargo-ccore.sh bench --bench compare -- "$@"
