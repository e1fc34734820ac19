#!/usr/bin/env bash
# Installs what the browser tests need, skipping what is already there:
#   - Debian's Chromium at /usr/bin/chromium (the tests never download a browser);
#   - the npm packages pinned by package-lock.json: playwright-core, and
#     livekit-client (the source scripts/vendor-web copies into web/vendor/).
# Quiet unless it installs something. Needs root only to install Chromium.
set -euo pipefail
cd "$(dirname "$0")"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in chromium fonts-dejavu-core; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ] || [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "browser tests: run as root, or: apt-get install -y ${missing[*]:-chromium}" >&2
    exit 1
  fi
  echo "browser tests: installing ${missing[*]:-chromium} (Debian)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]:-chromium}" >/dev/null
fi

# npm ci only when node_modules was not installed from this exact lock file.
stamp=node_modules/.roomgate-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" > "$stamp"
fi
