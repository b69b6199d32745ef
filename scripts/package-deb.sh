#!/usr/bin/env bash
# Builds the Debian package of yes-server and yes-client on the pinned
# C-core (linked in; YES_GRPC_CCORE=system links Debian's libgrpc29 instead):
# pinned/debian/yes-grpc_VERSION-1_ARCH.deb under $CARGO_TARGET_DIR (or
# target/), its path printed on stdout. Install it with
#   sudo apt install ./PATH.deb
# It holds the binaries, their man pages and bash/zsh/fish completions (all
# generated from the clap definitions by examples/package_assets.rs), the
# hardened unit deploy/systemd/yes-server.service (enabled and started on
# install) and its conffile /etc/default/yes-server. Cargo.toml's
# [package.metadata.deb] lists the files; docs/hosts.md has the rest.
#
# cargo-deb, at the version below, is installed on first use under
# ~/.cache/yes-grpc/tools (or YES_GRPC_CACHE), out of the way of any other.
# YES_GRPC_TARGET_DIR names the exact target directory (tests/systemd.rs
# packages the binaries it tests that way; scripts/cargo-ccore.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo_deb_version=3.8.0

"$root/scripts/setup-debian.sh"
# strip; dpkg-shlibdeps, from which cargo-deb learns the Depends line.
"$root/scripts/apt-install.sh" binutils dpkg-dev

tools=${YES_GRPC_CACHE:-$HOME/.cache/yes-grpc}/tools/cargo-deb-$cargo_deb_version
if [ ! -x "$tools/bin/cargo-deb" ]; then
  echo "package-deb: installing cargo-deb $cargo_deb_version into $tools (once, about a minute)" >&2
  cargo install --quiet --locked --version "$cargo_deb_version" --root "$tools" cargo-deb
fi

export YES_GRPC_CCORE=${YES_GRPC_CCORE:-pinned}
target=$("$root/scripts/cargo-ccore.sh" --print-target-dir)
"$root/scripts/cargo-ccore.sh" build --release --locked --bins --example package_assets
assets=$target/release/package
rm -rf "$assets"
"$target/release/examples/package_assets" "$assets"
# Debian ships manual pages compressed, and cargo-deb leaves files under
# target/release/ as they are.
gzip -9n "$assets"/man/*.1

cd "$root"
deb=$(CARGO_TARGET_DIR=$target "$tools/bin/cargo-deb" --no-build --strip --output "$target/debian/" | tail -n 1)
echo "package-deb: built $deb ($(du -h "$deb" | cut -f1))" >&2
echo "$deb"
