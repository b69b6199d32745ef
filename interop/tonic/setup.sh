#!/usr/bin/env bash
# Builds the interop matrix's tonic client (crates.io, Cargo.lock committed)
# into OUT, a target directory of its own, with protoc from Debian's
# protobuf-compiler. Writes OUT/run and OUT/version. cargo makes it
# incremental.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
"$here/../../scripts/apt-install.sh" protobuf-compiler
mkdir -p "$out"
CARGO_TARGET_DIR="$out/target" cargo build --quiet --release --locked \
  --manifest-path "$here/Cargo.toml"
ln -sf "$out/target/release/yes-interop-tonic" "$out/run"
version=$(grep -A1 '^name = "tonic"$' "$here/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')
echo "tonic $version" > "$out/version"
