#!/usr/bin/env bash
# The interop matrix's grpc-java client (yes.interop.Matrix): installs
# Debian's grpc-java and a JDK (setup-debian.sh), builds the client into
# OUT (build.sh), and writes OUT/run and OUT/version.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
"$here/setup-debian.sh"
"$here/build.sh" "$out"
cat > "$out/run" <<RUN
#!/bin/sh
exec java -Xss1m -cp "$(cat "$out/classpath")" yes.interop.Matrix "\$@"
RUN
chmod +x "$out/run"
version=$(dpkg-query -W -f='${Version}' libgrpc-java)
echo "grpc-java ${version%%+*}" > "$out/version"
