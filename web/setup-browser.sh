#!/bin/sh
# Installs what the browser test needs: Debian's Chromium (no browser download by a test tool)
# and the npm packages pinned in package-lock.json (playwright-core drives Chromium).
set -eu
cd "$(dirname "$0")"
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y chromium >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y chromium >/dev/null; }
fi
npm ci --no-audit --no-fund >/dev/null
chromium --version
