#!/bin/sh
# Install packages the tests (or another make target) need when we can
# (root + apt-get); otherwise say exactly what to install. Quiet when all
# are present. Usage: deps.sh [LABEL PKG...]; no arguments: the test packages.
label=${1:-deps}
[ $# -gt 0 ] && shift
# musl-tools: `make` then links the server statically against musl, the build
# the tests should see (Makefile, LIBC).
# The binary-protocol clients (tests/e2e/test_binary_clients.py): php-cli +
# php-memcached, ruby + ruby-dalli (Debian's ruby-dalli does not pull in ruby),
# nodejs + npm (memjs itself comes from the npm registry:
# tests/e2e/clients/install_memjs.sh); libsasl2-modules holds the PLAIN
# mechanism libmemcached's SASL needs (a Recommends, not pulled in by
# --no-install-recommends); sasl2-bin (saslpasswd2) and libsasl2-modules-db
# (sasldb) let Debian's memcached, built without MEMCACHED_SASL_PWDB support,
# serve as the SASL reference.
# The HTTP front (tests/e2e/test_http*.py): curl, wrk, prometheus (promtool),
# chromium (the dashboard, headless). nutcracker (twemproxy): the cluster test
# (tests/e2e/test_cluster.py) runs docs/SCALING.md's proxy recipes.
# Operating (tests/e2e/test_install.py, test_operator.py): systemd
# (systemd-analyze), man-db, lintian, fakeroot, file, adduser (the package's
# user); libmemcached-tools' memcdump lists keys.
# TLS (make TLS=1, tests/e2e/test_tls*.py): libssl-dev (OpenSSL 3, as
# memcached's), openssl (test certificates, s_client).
# memcached's own t/ suite (tests/conformance): perl's prove runs it, dpkg-dev
# unpacks the source package apt-get source fetches.
# iproute2: ss shows a listener's fwmark (-o sock_cookie_id, test_ext_options.py).
PKGS=${*:-"perl dpkg-dev libcmocka-dev python3-pytest python3-pylibmc python3-pymemcache memcached libmemcached-tools musl-tools \
php-cli php-memcached ruby ruby-dalli nodejs npm libsasl2-modules libsasl2-modules-db sasl2-bin \
curl wrk prometheus chromium nutcracker systemd man-db lintian file adduser libssl-dev openssl \
iproute2"}
missing=""
for p in $PKGS; do
    # NodeSource's nodejs bundles npm (and conflicts with Debian's npm package)
    [ "$p" = npm ] && command -v npm >/dev/null 2>&1 && continue
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$label: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=900 update -qq >/dev/null 2>&1 || true
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing >/dev/null && exit 0
fi
echo "$label: missing packages:$missing"
echo "$label: install them with: sudo apt-get install$missing"
exit 1
