#!/usr/bin/env bash
# Builds the interop matrix's Python client into OUT (a directory under the
# target directory): a virtualenv with grpcio and its health, reflection and
# code-generation packages from PyPI (requirements.txt), and the message
# classes generated from proto/yes.proto. Writes OUT/run (the client's
# command, which runs a copy of client.py: nothing in OUT points into the
# clone) and OUT/version. Idempotent: does nothing when they are current.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
# shellcheck source=interop/stamp.sh
. "$here/../stamp.sh"
up_to_date "$out" "$here/requirements.txt" "$here/../../proto/yes.proto" "$here/client.py" \
  && exit 0
mkdir -p "$out/gen"
cp "$here/client.py" "$out/"
python3 -m venv "$out/venv"
"$out/venv/bin/python3" -m pip install --quiet --disable-pip-version-check \
  -r "$here/requirements.txt"
"$out/venv/bin/python3" -m grpc_tools.protoc -I "$here/../../proto" \
  --python_out="$out/gen" --grpc_python_out="$out/gen" "$here/../../proto/yes.proto"
cat > "$out/run" <<RUN
#!/bin/sh
PYTHONPATH="$out/gen" exec "$out/venv/bin/python3" "$out/client.py" "\$@"
RUN
chmod +x "$out/run"
"$out/venv/bin/python3" -c 'import grpc; print("Python grpcio " + grpc.__version__)' > "$out/version"
mark_built "$out"
