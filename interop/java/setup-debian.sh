#!/usr/bin/env bash
# Installs what the Java interop client needs, all from Debian's packages
# (Maven Central is not used): a JDK, grpc-java 1.41 with its run-time jars
# (netty, guava, perfmark, protobuf), protoc with the grpc-java plugin, and
# the standard health.proto. Idempotent and non-interactive.
set -euo pipefail

packages=(protobuf-compiler protobuf-compiler-grpc-java-plugin libgrpc-java libprotobuf-java
  libnetty-java libperfmark-java libguava-java libgeronimo-annotation-1.3-spec-java grpc-proto)
# A JDK that did not come from the package (as on some images) is fine.
if ! command -v javac >/dev/null || ! command -v java >/dev/null; then
  packages+=(default-jdk-headless)
fi
exec "$(dirname "$0")/../../scripts/apt-install.sh" "${packages[@]}"
