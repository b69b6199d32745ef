#!/usr/bin/env bash
# Installs the manifest checks into OUT (a directory under the target
# directory): a virtualenv with kubernetes-validate from PyPI
# (requirements.txt, pinned), which validates resources offline against
# Kubernetes' own schemas, and a copy of restricted.py, the Pod Security
# Standards' "restricted" checks. Writes OUT/validate and OUT/restricted.
# Idempotent: does nothing when they are current (interop/stamp.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
# shellcheck source=interop/stamp.sh
. "$here/../../interop/stamp.sh"
up_to_date "$out" "$here/requirements.txt" "$here/restricted.py" && exit 0
python3 -m venv "$out/venv"
"$out/venv/bin/python3" -m pip install --quiet --disable-pip-version-check \
  -r "$here/requirements.txt"
cp "$here/restricted.py" "$out/"
cat > "$out/validate" <<RUN
#!/bin/sh
exec "$out/venv/bin/kubernetes-validate" --strict "\$@"
RUN
cat > "$out/restricted" <<RUN
#!/bin/sh
exec "$out/venv/bin/python3" "$out/restricted.py" "\$@"
RUN
chmod +x "$out/validate" "$out/restricted"
mark_built "$out"
