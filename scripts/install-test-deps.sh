#!/usr/bin/env bash
# Installs what the test suite needs beyond the .NET SDK: Debian's `chromium`, which the report tests use to
# check that report.html renders (every <img> decoded). Idempotent: prints nothing and does nothing when
# chromium is already on PATH. Runs apt-get directly (as root, no sudo); `apt-get update` only when the
# package is not known to apt yet.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-test-deps: chromium is missing and this script needs root to install it with apt-get" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium >/dev/null 2>&1; then
  echo "install-test-deps: apt-get update (chromium not in the package lists yet)"
  apt-get update -qq
fi

echo "install-test-deps: installing chromium"
apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "install-test-deps: chromium still not on PATH after install" >&2; exit 1; }
echo "install-test-deps: $(chromium --version 2>/dev/null || echo chromium installed)"
