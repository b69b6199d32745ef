#!/usr/bin/env bash
# Builds the interop matrix's grpc-js client into OUT (a directory under the
# target directory): `npm ci` of package-lock.json (@grpc/grpc-js and
# @grpc/proto-loader from the npm registry) with the machine's Node.js
# (Debian's nodejs when there is none). Writes OUT/run and OUT/version.
# Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
command -v node >/dev/null && command -v npm >/dev/null \
  || "$here/../../scripts/apt-install.sh" nodejs npm
stamp=$(cat "$here/package-lock.json" "$0" | sha256sum | cut -c1-16)
[ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && exit 0
rm -rf "$out" && mkdir -p "$out"
cp "$here/package.json" "$here/package-lock.json" "$out/"
(cd "$out" && npm ci --silent --no-audit --no-fund)
protos="$here/../../proto:/usr/share/grpc-proto"
cat > "$out/run" <<RUN
#!/bin/sh
NODE_PATH="$out/node_modules" YES_PROTO_DIRS="$protos" exec node "$here/client.js" "\$@"
RUN
chmod +x "$out/run"
echo "grpc-js $(node -p "require('$out/node_modules/@grpc/grpc-js/package.json').version")" > "$out/version"
echo "$stamp" > "$out/stamp"
