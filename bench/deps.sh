#!/bin/sh
# What `make bench` needs: the reference server, memcaslap and gnuplot.
# Installs them when we can (root + apt-get); otherwise says what to install.
PKGS="memcached libmemcached-tools gnuplot-nox"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq --no-install-recommends $missing >/dev/null && exit 0
fi
echo "bench deps: missing packages:$missing"
echo "bench deps: install them with: sudo apt-get install$missing"
# gnuplot only draws the chart: go on without it, stop without the rest.
[ "$(echo $missing)" = "gnuplot-nox" ] && exit 0
exit 1
