#!/usr/bin/env bash
# Debian packages the test suite needs: poppler (second PDF rasterizer), Chromium (browser tests)
# and nginx (the reverse proxy of the production setup, started by the PostgreSQL + Redis pass).
# Installs only what is missing; needs root (as on CI machines).
set -eu
need=()
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
