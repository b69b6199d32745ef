#!/usr/bin/env bash
# Makes this machine able to run tests/systemd.rs: lintian (the package is
# checked with it), podman with the Debian base of deploy/podman/setup.sh,
# and on it the image localhost/yes-grpc-systemd:bookworm, a Debian host
# that boots systemd (deploy/systemd/test-host.Containerfile; about a
# minute, once). Idempotent and non-interactive; scripts/test.sh runs it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/../../scripts/apt-install.sh" lintian
"$here/../podman/setup.sh"

export CONTAINERS_CONF=$here/../podman/containers.conf
image=localhost/yes-grpc-systemd:bookworm
podman image exists "$image" && exit 0
echo "systemd: building $image (once, about a minute)" >&2
podman build --quiet --network host --format docker --tag "$image" \
  --file "$here/test-host.Containerfile" "$here" >/dev/null
echo "systemd: built $image" >&2
