#!/usr/bin/env bash
# Builds yes-client in release mode (on the C-core scripts/serve.sh uses) and
# runs it; arguments go to yes-client (see --help). Works whatever
# CARGO_TARGET_DIR is, as cargo finds its own binary. If scripts/serve.sh is
# still building C-core in another terminal, this waits for that build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
exec scripts/cargo-ccore.sh run --quiet --release --bin yes-client -- "$@"
