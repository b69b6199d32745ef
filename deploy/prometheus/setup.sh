#!/usr/bin/env bash
# Installs Debian's prometheus package, whose promtool checks and unit-tests
# the rules here and whose server tests/prometheus.rs runs against a real
# yes-server. The package also starts a Prometheus service on port 9090
# (yes-server's default port) on hosts booted with systemd: when this script
# is what installed it, it stops and disables that service, and says so.
# Idempotent and non-interactive; scripts/test.sh runs it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q "install ok installed"; then
  exit 0
fi
"$here/../../scripts/apt-install.sh" prometheus
if [ -d /run/systemd/system ] && systemctl is-enabled --quiet prometheus 2>/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
  echo "prometheus: installed for the tests; its service is stopped and disabled (it would hold port 9090)" >&2
fi
