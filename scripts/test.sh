#!/usr/bin/env bash
# Installs what is missing and runs every test against both C-cores: the
# pinned gRPC release of ccore/pinned.env (the default; its first build compiles C-core into
# ~/.cache/yes-grpc, see ccore/build.py) first, then Debian's 1.51 (the
# platform mode). The tests include the grpc-java interop suite
# (tests/interop_java.rs), which builds the Java client from interop/java
# with Debian's grpc-java.
# The container test (tests/container.rs) builds deploy/Dockerfile's image
# with podman from the release binaries and runs it, on the default C-core;
# deploy/podman/setup.sh installs podman and makes its Debian base.
# YES_GRPC_SKIP_CONTAINER=1 skips it, on machines that cannot run containers.
# The systemd test (tests/systemd.rs) builds the Debian package and runs it
# under systemd in a container (deploy/systemd/test-setup.sh prepares it);
# YES_GRPC_SKIP_SYSTEMD=1 skips it.
# The link test (tests/link.rs) runs a stream between network namespaces
# joined by a shaped veth link; it needs root, ip, tc and ethtool (installed
# here); YES_GRPC_SKIP_LINK=1 skips it where there is no root.
# YES_GRPC_CCORE=pinned or =system runs only that one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
interop/java/setup-debian.sh
deploy/prometheus/setup.sh
scripts/apt-install.sh iproute2 ethtool

# Runs `cargo test ARGS` on the current C-core; fails when a test binary it
# ran passed no test, so a selection that matches nothing cannot pass.
selected() {
  local log empty=0
  log=$(mktemp)
  YES_GRPC_CCORE=$mode scripts/cargo-ccore.sh test "$@" 2>&1 | tee "$log"
  grep -q "^test result: ok\. 0 passed" "$log" && empty=1
  rm -f "$log"
  if [ "$empty" = 1 ]; then
    echo "test.sh: 'cargo test $*' ran a test binary that passed no test" >&2
    exit 1
  fi
}

modes=(pinned system)
[ -n "${YES_GRPC_CCORE:-}" ] && modes=("$YES_GRPC_CCORE")
for mode in "${modes[@]}"; do
  echo "=== tests with the $mode C-core" >&2
  # Everything but the long runs, which are #[ignore]d (cargo lists each
  # with its reason) and run below, alone and showing their output.
  YES_GRPC_CCORE=$mode scripts/cargo-ccore.sh test
  # The fault suite's quick tier, showing its figures ("faults:",
  # "hostile:" and "connections:" lines; scripts/faults-long.sh runs the
  # long tier), and the shaped link ("link:" line).
  selected --test faults --test hostile --test connections --test link -- --ignored --nocapture
  # The interop suite prints a line per case and "interop: N passed, M failed".
  selected --test interop_java -- --ignored --nocapture
  # The default C-core only: the interop matrix (a client per gRPC stack,
  # interop/*/setup.sh builds each under the target directory; it prints a
  # line per stack and case, the table and an "interop-matrix:" line) and
  # the container image ("container:" line).
  if [ "$mode" = pinned ]; then
    YES_INTEROP_DIR=${CARGO_TARGET_DIR:-$PWD/target}/interop \
      selected --test interop_matrix -- --ignored --nocapture
    if [ -z "${YES_GRPC_SKIP_CONTAINER:-}" ] || [ "$YES_GRPC_SKIP_CONTAINER" = 0 ]; then
      deploy/podman/setup.sh
    fi
    selected --release --test container -- --ignored --nocapture
    # The Debian package under systemd ("deb:" line; docs/hosts.md).
    if [ -z "${YES_GRPC_SKIP_SYSTEMD:-}" ] || [ "$YES_GRPC_SKIP_SYSTEMD" = 0 ]; then
      deploy/systemd/test-setup.sh
    fi
    selected --release --test systemd -- --ignored --nocapture
  fi
done
