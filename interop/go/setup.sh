#!/usr/bin/env bash
# Builds the interop matrix's grpc-go client into OUT (a directory under the
# target directory) from Debian's packages alone: Go and grpc-go
# (golang-google-grpc-dev), in GOPATH mode, with no module proxy. Writes
# OUT/run (the client) and OUT/version. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
"$here/../../scripts/apt-install.sh" golang-go golang-google-grpc-dev
stamp=$(cat "$here/client.go" "$0" | sha256sum | cut -c1-16)
[ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && exit 0
rm -rf "$out" && mkdir -p "$out"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$out/cache" \
  GOPROXY=off go build -o "$out/run" "$here/client.go"
version=$(dpkg-query -W -f='${Version}' golang-google-grpc-dev)
echo "grpc-go ${version%%-*}" > "$out/version"
echo "$stamp" > "$out/stamp"
