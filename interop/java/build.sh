#!/usr/bin/env bash
# Builds the Java interop client with plain javac against Debian's jars.
# Stubs come from the server's own proto/yes.proto and the standard
# grpc/health/v1/health.proto and grpc/reflection/v1alpha/reflection.proto,
# through protoc and the grpc-java plugin.
# Usage: interop/java/build.sh OUT_DIR
# Writes OUT_DIR/classes and OUT_DIR/classpath (the run-time class path).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:?usage: build.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

jars=(grpc-api grpc-core grpc-context grpc-netty grpc-protobuf grpc-protobuf-lite grpc-stub
  protobuf guava perfmark-api geronimo-annotation-1.3-spec
  netty-buffer netty-codec netty-codec-http netty-codec-http2 netty-common netty-handler
  netty-resolver netty-transport netty-transport-native-unix-common)
classpath=""
for jar in "${jars[@]}"; do
  path=/usr/share/java/$jar.jar
  if [ ! -f "$path" ]; then
    echo "build.sh: $path is missing: run interop/java/setup-debian.sh" >&2
    exit 1
  fi
  classpath+="${classpath:+:}$path"
done
health_proto=/usr/share/grpc-proto/grpc/health/v1/health.proto
for tool in protoc javac /usr/bin/grpc_java_plugin "$health_proto"; do
  if ! command -v "$tool" >/dev/null && [ ! -e "$tool" ]; then
    echo "build.sh: $tool is missing: run interop/java/setup-debian.sh" >&2
    exit 1
  fi
done

rm -rf "$out/gen" "$out/classes"
mkdir -p "$out/gen" "$out/classes"
protoc --proto_path="$root/proto" --proto_path=/usr/share/grpc-proto \
  --plugin=protoc-gen-grpc-java=/usr/bin/grpc_java_plugin \
  --java_out="$out/gen" --grpc-java_out="$out/gen" \
  "$root/proto/yes.proto" grpc/health/v1/health.proto grpc/reflection/v1alpha/reflection.proto
find "$out/gen" "$here/src" -name '*.java' >"$out/sources"
javac -nowarn -encoding UTF-8 -d "$out/classes" -cp "$classpath" @"$out/sources"
echo "$out/classes:$classpath" >"$out/classpath"
echo "built the Java interop client in $out" >&2
