#!/usr/bin/env bash
# Builds the interop matrix's grpc-go client into OUT (a directory under the
# target directory) from Debian's packages alone: Go and grpc-go
# (golang-google-grpc-dev), in GOPATH mode, with no module proxy. Writes
# OUT/run (the client) and OUT/version. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
"$here/../../scripts/apt-install.sh" golang-go golang-google-grpc-dev
# shellcheck source=interop/stamp.sh
. "$here/../stamp.sh"
up_to_date "$out" "$here/client.go" && exit 0
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$out/cache" \
  GOPROXY=off go build -o "$out/run" "$here/client.go"
version=$(dpkg-query -W -f='${Version}' golang-google-grpc-dev)
echo "grpc-go ${version%%-*}" > "$out/version"
mark_built "$out"
