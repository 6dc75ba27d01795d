#!/bin/sh
# Install the memjs npm package (pinned) under build/npm for
# tests/e2e/test_binary_clients.py; does nothing when it is already there.
# Usage: sh tests/e2e/clients/install_memjs.sh [PREFIX]   (default PREFIX: build/npm)
# Needs node and npm (Debian: apt-get install nodejs npm) and the npm registry.
VERSION=1.3.2
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
PREFIX=${1:-$ROOT/build/npm}
PKG=$PREFIX/node_modules/memjs/package.json
if [ -f "$PKG" ] && grep -q "\"version\": *\"$VERSION\"" "$PKG"; then
    exit 0
fi
AGAIN="sh tests/e2e/clients/install_memjs.sh"
for tool in node npm; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "install_memjs: $tool is missing: apt-get install nodejs npm, then run: $AGAIN"
        exit 1
    fi
done
mkdir -p "$PREFIX" || exit 1
LOG=$PREFIX/install-memjs.log
echo "install_memjs: npm install memjs@$VERSION into $PREFIX"
# Bounded: an unreachable registry fails within about a minute.
if timeout 90 npm install --prefix "$PREFIX" --no-save --no-package-lock --no-audit --no-fund \
        --fetch-retries=1 --fetch-timeout=20000 "memjs@$VERSION" >"$LOG" 2>&1 \
        && [ -f "$PKG" ]; then
    exit 0
fi
tail -5 "$LOG" 2>/dev/null | sed 's/^/install_memjs:   /'
echo "install_memjs: could not install memjs@$VERSION from the npm registry (full log: $LOG)."
echo "install_memjs: once the registry is reachable, run: $AGAIN"
exit 1
