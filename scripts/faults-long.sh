#!/usr/bin/env bash
# The fault suite's long tier (issue 7): soak 10 min, 10,000 cancel cycles,
# 1,000 deadline expiries, 200 clients killed with SIGKILL, 50,000 reset
# streams, a minute of clients that never read, 5 M mutated requests, against
# a release build. Takes about 20 minutes on 2 cores; prints one "faults:" or
# "hostile:" line per figure. Runs with the pinned C-core (ccore/pinned.env) unless
# YES_GRPC_CCORE=system. The quick tier runs in scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
export YES_FAULTS_TIER=long
scripts/cargo-ccore.sh test --release --test faults --test hostile --test connections -- --ignored --nocapture --test-threads 1
