#!/usr/bin/env bash
# Installs Debian's prometheus package (prometheus + promtool) for the observability
# end-to-end test. Idempotent and quiet; without root or sudo it says so and carries on
# (the test then skips with a message).
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "install-prometheus: not root and no sudo; skipping (observability e2e test will skip)" >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >/dev/null
"${as_root[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# The package starts a system service where an init system runs; the test starts its own.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${as_root[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
echo "install-prometheus: $(prometheus --version 2>&1 | head -1)"
