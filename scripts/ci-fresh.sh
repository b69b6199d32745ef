#!/usr/bin/env bash
# Rehearses CI as a fresh machine would run it: `.ci/run` on a clean clone of
# the current commit, with every cache a new machine lacks taken away, so a
# step that passes only on a warm machine (a crate fetched earlier, a client
# built by another clone, an image already imported) fails here first.
#
# What is empty: HOME (so CARGO_HOME's registry, ~/.cache/yes-grpc with the
# C-core and the target directory, pip's, npm's, Go's and Maven's caches),
# and podman's image store (a storage root of its own, so the Debian base
# image is made again). What stays: the Rust toolchain (rustup's, as on
# every machine of ours), the Python that pyenv provides, and Debian packages
# already installed (a new machine installs them through the setup scripts;
# removing them here would break this machine, not prove anything more).
#
# Usage: scripts/ci-fresh.sh [--keep-ccore] [--again] [--keep]
#   --keep-ccore  reuse the built C-core (~/.cache/yes-grpc/ccore or
#                 $YES_GRPC_CACHE/ccore): a quick rehearsal, ~10 minutes less
#   --again       then delete the first clone, clone again into another
#                 folder and run .ci/run there with the caches the first run
#                 left (a second clone on a machine that ran CI once)
#   --keep        keep the scratch folder (it is kept anyway on failure)
# Prints the wall time of each run and its summary lines. Committed work only:
# uncommitted changes are not in the clone (a warning says so).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

keep_ccore=0 again=0 keep=0
for arg in "$@"; do
  case "$arg" in
    --keep-ccore) keep_ccore=1 ;;
    --again) again=1 ;;
    --keep) keep=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "ci-fresh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

real_home=$HOME
commit=$(git -C "$root" rev-parse HEAD)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
  echo "ci-fresh: warning: uncommitted changes are not rehearsed (commit $commit only)" >&2
fi

# A fresh run fills 7-11 GB (targets of both C-cores, the interop stacks,
# images); a full disk fails it half way with "No space left on device" and
# can take the machine's shell with it. Failed runs keep their folder, so
# say which are left over.
parent=${TMPDIR:-/var/tmp}
free_gb=$(df -Pk "$parent" | awk 'NR == 2 { print int($4 / 1048576) }')
if [ "$free_gb" -lt 15 ]; then
  echo "ci-fresh: only $free_gb GB free in $parent; a rehearsal needs about 15." >&2
  ls -d "$parent"/yes-grpc-fresh.* 2>/dev/null | sed 's/^/ci-fresh: left by an earlier run: /' >&2
  exit 1
fi
scratch=$(mktemp -d "$parent/yes-grpc-fresh.XXXXXX")
home=$scratch/home
mkdir -p "$home"
if [ "$keep_ccore" = 1 ]; then
  ccore=${YES_GRPC_CACHE:-$real_home/.cache/yes-grpc}/ccore
  [ -d "$ccore" ] || { echo "ci-fresh: --keep-ccore: no $ccore to keep" >&2; exit 2; }
  mkdir -p "$home/.cache/yes-grpc"
  ln -s "$ccore" "$home/.cache/yes-grpc/ccore"
fi

# Podman's images in a store of their own (removed at the end).
storage=$scratch/containers
mkdir -p "$storage"
cat > "$scratch/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$storage/storage"
runroot = "$storage/run"
CONF

# CI's environment, less every variable that could point at a warm cache.
run_ci() {
  local clone=$1 log=$2
  git clone --quiet "$root" "$clone"
  git -C "$clone" checkout --quiet "$commit"
  local start=$SECONDS status=0
  (cd "$clone" && env -u CARGO_HOME -u CARGO_TARGET_DIR -u YES_GRPC_CACHE -u YES_GRPC_CCORE \
      -u XDG_CACHE_HOME -u npm_config_cache -u PIP_CACHE_DIR -u GOCACHE -u GOPATH \
      -u GOMODCACHE -u YES_INTEROP_DIR -u YES_INTEROP_STACKS -u YES_GRPC_SKIP_CONTAINER \
      HOME="$home" RUSTUP_HOME="${RUSTUP_HOME:-$real_home/.rustup}" \
      PYENV_ROOT="${PYENV_ROOT:-$real_home/.pyenv}" \
      CONTAINERS_STORAGE_CONF="$scratch/storage.conf" CI=true \
      bash .ci/run </dev/null >"$log" 2>&1) || status=$?
  local took=$((SECONDS - start))
  echo "ci-fresh: $clone: .ci/run exited $status after $((took / 60)) min $((took % 60)) s" \
    "(log: $log)"
  grep -E '^(=== tests with|interop: [0-9]|interop-matrix: [0-9]|container: image|deb: )' "$log" \
    | cut -c1-200 || true
  grep -E '^test result: ' "$log" | awk '{p += $4; f += $6; i += $8} END {
    printf "ci-fresh: cargo test: %d passed, %d failed, %d ignored\n", p, f, i }'
  [ "$status" = 0 ] || tail -n 30 "$log"
  return "$status"
}

cleanup() {
  CONTAINERS_STORAGE_CONF="$scratch/storage.conf" podman rmi --all --force >/dev/null 2>&1 || true
  rm -rf "$scratch"
}

status=0
run_ci "$scratch/first" "$scratch/first.log" || status=$?
if [ "$status" = 0 ] && [ "$again" = 1 ]; then
  # The first clone goes first: nothing cached may point into it.
  rm -rf "$scratch/first"
  run_ci "$scratch/second-clone/elsewhere" "$scratch/second.log" || status=$?
fi
if [ "$status" = 0 ] && [ "$keep" = 0 ]; then
  cleanup
else
  echo "ci-fresh: kept $scratch" >&2
fi
exit "$status"
