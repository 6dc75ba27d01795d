#!/bin/sh
# Install packages the tests (or another make target) need when we can
# (root + apt-get); otherwise say exactly what to install. Quiet when all
# are present. Usage: deps.sh [LABEL PKG...]; no arguments: the test packages.
label=${1:-deps}
[ $# -gt 0 ] && shift
# musl-tools: `make` then links the server statically against musl, the build
# the tests should see (Makefile, LIBC).
PKGS=${*:-"libcmocka-dev python3-pytest python3-pylibmc python3-pymemcache memcached libmemcached-tools musl-tools"}
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$label: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq --no-install-recommends $missing >/dev/null && exit 0
fi
echo "$label: missing packages:$missing"
echo "$label: install them with: sudo apt-get install$missing"
exit 1
