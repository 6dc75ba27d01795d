#!/bin/sh
# Install what the tests need when we can (root + apt-get); otherwise say
# exactly what to install. Idempotent and quiet when all is present.
PKGS="libcmocka-dev python3-pytest python3-pylibmc python3-pymemcache memcached libmemcached-tools"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    if apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
        # Debian starts the packaged memcached as a service; the tests start their own.
        exit 0
    fi
fi
echo "deps: missing packages:$missing"
echo "deps: install them with: sudo apt-get install$missing"
exit 1
