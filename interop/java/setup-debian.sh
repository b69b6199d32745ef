#!/usr/bin/env bash
# Installs what the Java interop client needs, all from Debian's packages
# (Maven Central is not used): a JDK, grpc-java 1.41 with its run-time jars
# (netty, guava, perfmark, protobuf), protoc with the grpc-java plugin, and
# the standard health.proto. Idempotent and non-interactive.
set -euo pipefail

packages=(default-jdk-headless protobuf-compiler protobuf-compiler-grpc-java-plugin
  libgrpc-java libprotobuf-java libnetty-java libperfmark-java libguava-java
  libgeronimo-annotation-1.3-spec-java grpc-proto)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
# A JDK that did not come from the package (as on some images) is fine.
if command -v javac >/dev/null && command -v java >/dev/null; then
  missing=("${missing[@]/default-jdk-headless}")
fi
read -r -a missing <<<"${missing[*]}"
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
echo "interop/java/setup-debian: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
