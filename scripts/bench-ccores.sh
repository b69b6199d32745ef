#!/usr/bin/env bash
# Measures what the C-core version is worth: the grpcio floor (a bare loop,
# see benches/compare.rs) on three C-cores, side by side with yes-server and
# the Java reference, one stream at each message size, both clients:
#   1.56.2  bundled by grpcio 0.13 (yes-server's default build)
#   1.51    Debian's libgrpc (yes-server's system build)
#   1.46.5  bundled by grpcio 0.12.1 (benches/floor-ccore-1.46): measured
#           only, never shipped; it lacks the fixes for CVE-2023-33953 and
#           CVE-2023-44487 (README, "Two C-cores")
# Installs what is missing first. About 7 minutes (--quick: about 2), plus the
# first release builds: ~15 min for each bundled C-core, ~1 min for Debian's.
# Prints a table; writes TARGET/bundled/bench-compare/ccores.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
interop/java/setup-debian.sh
base=${CARGO_TARGET_DIR:-$PWD/target}

# The harness built against Debian's C-core plays the 1.51 floor.
system_bench=$(YES_GRPC_CCORE=system scripts/cargo-ccore.sh bench --bench compare --no-run \
  --message-format=json | grep -o '"executable":"[^"]*/deps/compare-[^"]*"' | cut -d'"' -f4)
CARGO_TARGET_DIR="$base/ccore-1.46" cargo build --release \
  --manifest-path benches/floor-ccore-1.46/Cargo.toml
floor146="$base/ccore-1.46/release/floor-ccore-146"
[[ -x $system_bench && -x $floor146 ]] || { echo "bench-ccores: a floor did not build" >&2; exit 1; }

export YES_BENCH_FLOORS="1.51=$system_bench,1.46.5=$floor146"
exec scripts/cargo-ccore.sh bench --bench compare -- --ccores "$@"
