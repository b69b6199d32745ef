#!/usr/bin/env bash
# Builds the interop matrix's C++ grpc++ client into OUT from Debian's
# packages: libgrpc++-dev (1.51) and protoc's grpc_cpp_plugin
# (protobuf-compiler-grpc), stubs generated from proto/yes.proto and the
# standard health and reflection protos. About a minute on 2 cores the
# first time. Writes OUT/run and OUT/version. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$1
"$root/scripts/apt-install.sh" g++ libgrpc++-dev libprotobuf-dev protobuf-compiler \
  protobuf-compiler-grpc grpc-proto
# shellcheck source=interop/stamp.sh
. "$here/../stamp.sh"
up_to_date "$out" "$here/client.cc" "$root/proto/yes.proto" && exit 0
mkdir -p "$out/gen"
protos=(yes.proto grpc/health/v1/health.proto grpc/reflection/v1alpha/reflection.proto)
protoc -I "$root/proto" -I /usr/share/grpc-proto --cpp_out="$out/gen" --grpc_out="$out/gen" \
  --plugin=protoc-gen-grpc="$(command -v grpc_cpp_plugin)" "${protos[@]}"
sources=("$here/client.cc")
for proto in "${protos[@]}"; do
  sources+=("$out/gen/${proto%.proto}.pb.cc" "$out/gen/${proto%.proto}.grpc.pb.cc")
done
# Debian's own pkg-config search, whatever cargo's environment says.
flags=$(env -u PKG_CONFIG_PATH -u PKG_CONFIG_LIBDIR /usr/bin/pkg-config --cflags --libs grpc++ protobuf)
# shellcheck disable=SC2086
g++ -std=c++17 -O1 -I "$out/gen" -o "$out/run" "${sources[@]}" $flags -lpthread
version=$(dpkg-query -W -f='${Version}' libgrpc++-dev)
echo "C++ grpc++ ${version%%-*}" > "$out/version"
mark_built "$out"
