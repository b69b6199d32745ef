#!/usr/bin/env bash
# Builds the interop matrix's Python client into OUT (a directory under the
# target directory): a virtualenv with grpcio and its health, reflection and
# code-generation packages from PyPI (requirements.txt), and the message
# classes generated from proto/yes.proto. Writes OUT/run (the client's
# command) and OUT/version. Idempotent: does nothing when they are current.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
stamp=$(cat "$here/requirements.txt" "$here/../../proto/yes.proto" "$0" | sha256sum | cut -c1-16)
[ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && exit 0
rm -rf "$out" && mkdir -p "$out/gen"
python3 -m venv "$out/venv"
"$out/venv/bin/python3" -m pip install --quiet --disable-pip-version-check \
  -r "$here/requirements.txt"
"$out/venv/bin/python3" -m grpc_tools.protoc -I "$here/../../proto" \
  --python_out="$out/gen" --grpc_python_out="$out/gen" "$here/../../proto/yes.proto"
cat > "$out/run" <<RUN
#!/bin/sh
PYTHONPATH="$out/gen" exec "$out/venv/bin/python3" "$here/client.py" "\$@"
RUN
chmod +x "$out/run"
"$out/venv/bin/python3" -c 'import grpc; print("Python grpcio " + grpc.__version__)' > "$out/version"
echo "$stamp" > "$out/stamp"
