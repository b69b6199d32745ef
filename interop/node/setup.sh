#!/usr/bin/env bash
# Builds the interop matrix's grpc-js client into OUT (a directory under the
# target directory): `npm ci` of package-lock.json (@grpc/grpc-js and
# @grpc/proto-loader from the npm registry) with the machine's Node.js
# (Debian's nodejs when there is none). Writes OUT/run (which runs copies of
# client.js and yes.proto: nothing in OUT points into the clone) and
# OUT/version.
# Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
command -v node >/dev/null && command -v npm >/dev/null \
  || "$here/../../scripts/apt-install.sh" nodejs npm
# shellcheck source=interop/stamp.sh
. "$here/../stamp.sh"
up_to_date "$out" "$here/package.json" "$here/package-lock.json" "$here/client.js" \
  "$here/../../proto/yes.proto" && exit 0
cp "$here/package.json" "$here/package-lock.json" "$here/client.js" "$out/"
mkdir -p "$out/proto" && cp "$here/../../proto/yes.proto" "$out/proto/"
(cd "$out" && npm ci --silent --no-audit --no-fund)
cat > "$out/run" <<RUN
#!/bin/sh
NODE_PATH="$out/node_modules" YES_PROTO_DIRS="$out/proto:/usr/share/grpc-proto" \\
  exec node "$out/client.js" "\$@"
RUN
chmod +x "$out/run"
echo "grpc-js $(node -p "require('$out/node_modules/@grpc/grpc-js/package.json').version")" > "$out/version"
mark_built "$out"
