#!/usr/bin/env bash
# Measures what the C-core version is worth: the grpcio floor (a bare loop,
# see benches/compare.rs) on four C-cores, side by side with yes-server and
# the Java reference, one stream at each message size, both clients:
#   pinned  built by ccore/build.py from ccore/pinned.env (the default build)
#   1.51    Debian's libgrpc (yes-server's platform build)
#   1.56.2  bundled by grpcio-sys 0.13 (the default until 1.85.1; retired,
#           measured only: it lacks CVE fixes, docs/security.md)
#   1.46.5  bundled by grpcio 0.12.1 (benches/floor-ccore-1.46): measured
#           only, never shipped
# Installs what is missing first (cmake for the two bundled C-cores). About
# 10 minutes (--quick: about 3), plus the first release builds: ~15 min for
# each bundled C-core, ~1 min for Debian's.
# Prints a table; writes TARGET/pinned/bench-compare/ccores.csv.
#
# --pinning instead: one stream of "yes" and of 1 KiB from yes-server, the
# Java reference, the pinned floor (also with yes-server's cap on buffered
# replies, grpcio-floor+cap) and the 1.51 floor, each warmed up 5 s,
# first as usual, then with the server on CPU 0 and the client on CPU 1
# (taskset): the per-core figure. About 12 minutes (--quick: about 3).
# --fuse-filters adds yes-server with C-core's fuse_filters experiment (the
# server only; GRPC_EXPERIMENTS) beside the default one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
scripts/apt-install.sh cmake
interop/java/setup-debian.sh
base=${CARGO_TARGET_DIR:-$PWD/target}

bench_binary() {
  grep -o '"executable":"[^"]*/deps/compare-[^"]*"' | cut -d'"' -f4
}
# The harness built against other C-cores plays their floors.
system_bench=$(YES_GRPC_CCORE=system scripts/cargo-ccore.sh bench --bench compare --no-run \
  --message-format=json | bench_binary)
if [[ " $* " == *" --pinning "* ]]; then
  [[ -x $system_bench ]] || { echo "bench-ccores: the 1.51 floor did not build" >&2; exit 1; }
  export YES_BENCH_FLOORS="1.51=$system_bench"
  exec scripts/cargo-ccore.sh bench --bench compare -- "$@"
fi
# GRPCIO_SYS_USE_PKG_CONFIG=0 overrides .cargo/config.toml: grpcio-sys
# builds the C-core it bundles, in target directories of their own.
bundled_bench=$(GRPCIO_SYS_USE_PKG_CONFIG=0 CARGO_TARGET_DIR="$base/bundled-1.56" cargo bench \
  --bench compare --no-run --message-format=json | bench_binary)
GRPCIO_SYS_USE_PKG_CONFIG=0 CARGO_TARGET_DIR="$base/ccore-1.46" cargo build --release \
  --manifest-path benches/floor-ccore-1.46/Cargo.toml
floor146="$base/ccore-1.46/release/floor-ccore-146"
for floor in "$system_bench" "$bundled_bench" "$floor146"; do
  [[ -x $floor ]] || { echo "bench-ccores: a floor did not build" >&2; exit 1; }
done

export YES_BENCH_FLOORS="1.51=$system_bench,1.56.2=$bundled_bench,1.46.5=$floor146"
exec scripts/cargo-ccore.sh bench --bench compare -- --ccores "$@"
