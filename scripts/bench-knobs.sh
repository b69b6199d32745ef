#!/usr/bin/env bash
# Measures C-core's tuning knobs on yes-server (issue 23, item 2): each knob
# set through --ccore-arg beside the default, in alternating rounds, on the
# pinned C-core (YES_GRPC_CCORE=system: Debian's). yes-server (release) runs on CPU 0, the bench harness's
# Rust load client (benches/compare/client.rs) on CPU 1. Cells: one stream of
# "yes", one stream of 1 KiB, 1,000 streams of "yes" on one connection.
# Prints one line per run: msgs/s and the server's CPU per message (over the
# client's whole run, warm-up second included, divided by all it read).
#
# Usage: scripts/bench-knobs.sh [ROUNDS [SECONDS]]   (default 2 rounds of 5 s,
#        about 5 minutes). Needs taskset (util-linux) and 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
seconds=${2:-5}
knobs=(
  -
  grpc.http2.bdp_probe=0
  grpc.optimization_target=throughput
  grpc.optimization_target=latency
  grpc.minimal_stack=1
  grpc.http2.max_frame_size=1048576
)
scripts/cargo-ccore.sh build --release --bin yes-server >&2
server=$(scripts/cargo-ccore.sh --print-target-dir)/release/yes-server
load=$(scripts/cargo-ccore.sh bench --bench compare --no-run --message-format=json |
  grep -o '"executable":"[^"]*/deps/compare-[^"]*"' | cut -d'"' -f4)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# One run: knob ("-" for none), reply size, streams.
run() {
  local extra=()
  [ "$1" = - ] || extra=(--ccore-arg "$1")
  taskset -c 0 "$server" --listen 127.0.0.1:0 --log-level warn "${extra[@]}" \
    >"$work/out" 2>"$work/err" &
  local pid=$! addr=""
  for _ in $(seq 100); do
    addr=$(grep -o 'listening on [0-9.:]*' "$work/out" | cut -d' ' -f3) && [ -n "$addr" ] && break
    sleep 0.05
  done
  if [ -z "$addr" ]; then
    # e.g. a knob the server refuses on this C-core: say why, go on.
    echo "$1: the server did not start: $(tail -1 "$work/err")"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return
  fi
  local before after figures
  before=$(cpu_ticks "$pid")
  figures=$(YES_BENCH_ROLE=client YES_BENCH_WARM_UP=1 taskset -c 1 "$load" \
    "$addr" yes-with-fc "$2" "$seconds" "$3" 2>/dev/null | grep 'msgs=')
  after=$(cpu_ticks "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  python3 - "$1" "$2" "$3" "$figures" "$before" "$after" <<'PY'
import sys
knob, size, streams, figures, before, after = sys.argv[1:]
f = dict(field.split("=") for field in figures.split())
cpu = (float(after) - float(before)) / 100  # clock ticks
rate = float(f["msgs"]) / float(f["seconds"])
per = cpu / float(f["total"]) * 1e6
name = "default" if knob == "-" else knob
print(f"{name:38s} {size:>5} B {streams:>5} streams {rate / 1000:7.0f} k msgs/s {per:6.2f} us/msg")
PY
}

for round in $(seq "$rounds"); do
  echo "round $round of $rounds"
  for cell in "0 1" "1024 1" "0 1000"; do
    for knob in "${knobs[@]}"; do
      # shellcheck disable=SC2086
      run "$knob" $cell
    done
  done
done
