#!/usr/bin/env bash
# Measures yes-server against the sample's grpc-java server (a faithful port,
# interop/java/src/yes/reference) and a bare grpcio floor, side by side, and
# prints a table; writes CSV, JSON and SVG under TARGET/bench-compare.
# Installs what is missing first. About 12 minutes (--quick: about 4), plus the
# first release build (YES_GRPC_CCORE picks the C-core, default the pinned release).
#
# --connections instead: what 5,000 idle HTTP/2 connections cost each of
# yes-server and the Java reference in RSS, and how many of 2,000 TCP
# connections that never speak each has closed 15 s later (--quick: 1,000
# and 500).
#
# --stacks instead: one YesWithFc stream of "yes" and of 1 KiB from yes-server
# and the Java reference (each warmed up 5 s), read by the Rust and grpc-java
# load clients and by every other client stack of the interop matrix
# (interop/stacks.txt; interop/*/setup.sh builds them); writes stacks.csv.
#
# --streams instead: 1, 10, 100 and 1,000 concurrent YesWithFc streams over
# one connection and over eight, from yes-server, the Java reference and the
# floor, read by the Rust and grpc-java load clients: msgs/s, server CPU per
# message, RSS; writes streams.csv and cpu-by-streams.svg.
#
# --link instead (root): one stream of 1 KiB replies over links of 10 and 100
# Mbit/s with round trips of 1, 20 and 100 ms (network namespaces, veth, tc,
# and a delay line: tests/common/link.rs), beside one bulk TCP transfer on
# the same link, with the stream window each client announced and the price
# of BDP probing off (client's, server's); writes link.csv and link-share.svg.
#
# --floor-ab instead: yes-server's CPU per message beside the floor's and the
# capped floor's (one stream of "yes" and of 1 KiB, server on CPU 0, client
# on CPU 1), in alternating rounds (default 12, about 15 minutes): the mean
# of the per-round ratios with a 95 % interval; writes floor-ab.csv.
# --concurrent N: N streams of 1 KiB on one connection instead.
#
# --charts [DIR] redraws the charts from DIR's CSV files (default: the
# output folder). --reps N and --seconds S override the repetitions and the
# seconds per measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
interop/java/setup-debian.sh
if [[ " $* " == *" --link "* ]]; then
  scripts/apt-install.sh iproute2 ethtool
fi
if [[ " $* " == *" --stacks "* ]]; then
  dir=${CARGO_TARGET_DIR:-$PWD/target}/interop
  stacks=""
  # fd 3: a setup.sh that reads stdin must not eat the list.
  while read -r folder name <&3; do
    case "$folder" in
      '' | '#'*) continue ;;
      java) continue ;; # the harness's own grpc-java load client reads for Java
    esac
    "interop/$folder/setup.sh" "$dir/$folder" >&2
    stacks+="${stacks:+,}$name=$dir/$folder/run"
  done 3< interop/stacks.txt
  export YES_BENCH_STACKS=$stacks
fi
exec scripts/cargo-ccore.sh bench --bench compare -- "$@"
