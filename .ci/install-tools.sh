#!/usr/bin/env bash
# Installs the command-line validators the deployment tests (test/deploy) use, so that in
# CI they run instead of skipping: shellcheck (deploy/localstack/init-aws.sh) and
# promtool from Debian's prometheus package (deploy/prometheus/prometheus.yml and the
# chart's alert rules). Only what is missing is installed; without root or apt-get it
# says so and the tests report the skip themselves.
set -euo pipefail

missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "validators present: $(shellcheck --version | sed -n 's/^version: /shellcheck /p'), $(promtool --version 2>&1 | head -n 1)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: cannot install ${missing[*]} (needs root and apt-get); their checks will skip" >&2
  exit 0
fi

echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Only promtool is used; nothing here starts the prometheus service.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
