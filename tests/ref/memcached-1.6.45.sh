#!/bin/sh
# Build memcached 1.6.45, the second reference, from Debian unstable's source
# package, once per clone: build/ref/memcached-1.6.45/memcached (its t/ suite,
# doc/protocol.txt and routelib beside it). Prints the binary's path.
# Usage: memcached-1.6.45.sh [OUT_DIR]   (default <repo>/build/ref)
#
# Only a deb-src entry for sid is used, in apt lists private to OUT_DIR (the
# machine's apt never sees sid: no sid binary package can be installed). The
# Build-Depends come from the machine's own suite (bookworm), installed by
# name, not with `apt-get build-dep`. The source is pinned by version and by
# the sha256 of its two tarballs. Debian's patches are applied as dpkg-source
# would; one of them builds the proxy against Debian's liblua5.4 instead of
# the embedded Lua, so the build downloads nothing. Every step is bounded.
set -eu
VERSION=1.6.45
DEB_VERSION=$VERSION-1
ORIG_SHA256=c383a2ad8f973b627c3de472702f46ee33b402750de4fd2d25cef65a00140110
DEBIAN_SHA256=80452972d6bcd22777aa35b6f42068848054a1f5f74e4bdbec2eac9a0cc6e957
MIRROR=${MEMG_REF_MIRROR:-http://deb.debian.org/debian}

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/build/ref}
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/memcached-$VERSION
bin=$src/memcached

_built() { [ -x "$bin" ] && "$bin" -V 2>/dev/null | grep -qx "memcached $VERSION"; }
_say() { echo "ref $VERSION: $*" >&2; }

# Two callers at once (make test, bench, a single pytest file) build once.
exec 9>"$out/.lock-$VERSION"
flock -w 600 9 || { _say "another build holds $out/.lock-$VERSION"; exit 1; }
if _built; then echo "$bin"; exit 0; fi

# Build-Depends (debian/control) that this build uses: not debhelper, nor
# liburing (only --enable-proxy-uring wants it); autoconf and automake stand in
# for dh_autoreconf (the Lua patch edits configure.ac and Makefile.am).
sh "$root/tests/deps.sh" "ref $VERSION deps" \
    libevent-dev liblua5.4-dev libsasl2-dev libssl-dev pkgconf autoconf automake patch xz-utils >&2

apt_dir=$out/apt
mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
: > "$apt_dir/sources.list"
cat > "$apt_dir/sources.list.d/memg-ref-sid-src.sources" <<EOF
Types: deb-src
URIs: $MIRROR
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
APT="-o Dir::Etc::SourceList=$apt_dir/sources.list -o Dir::Etc::SourceParts=$apt_dir/sources.list.d
     -o Dir::State::Lists=$apt_dir/lists -o Dir::Cache=$apt_dir/cache -o APT::Sandbox::User=root"
dl=$out/dl-$VERSION
orig=memcached_$VERSION.orig.tar.xz
deb=memcached_$DEB_VERSION.debian.tar.xz
_have() { [ -f "$dl/$orig" ] && [ -f "$dl/$deb" ] &&
          echo "$ORIG_SHA256  $dl/$orig
$DEBIAN_SHA256  $dl/$deb" | sha256sum -c --quiet >/dev/null 2>&1; }
if ! _have; then
    _say "fetching the sid source package"
    # shellcheck disable=SC2086
    timeout 300 apt-get -q $APT update >"$out/apt-update.log" 2>&1 ||
        { _say "apt-get update failed (see $out/apt-update.log)"; exit 1; }
    mkdir -p "$dl"
    # apt checks each file against the signed Sources index; the pinned sha256
    # below then checks it is the version these tests were written against.
    # (Some mirrors serve the tarballs but not the .dsc: apt then fails after
    # fetching them, and the tarballs are all this script unpacks.)
    # shellcheck disable=SC2086
    (cd "$dl" && timeout 300 apt-get -q $APT source --download-only "memcached=$DEB_VERSION") \
        >"$out/apt-source.log" 2>&1 || true
    _have || { _say "memcached $DEB_VERSION not fetched or not the pinned one (see $out/apt-source.log)"; exit 1; }
fi

_say "unpacking and building (a minute on 2 cores)"
rm -rf "$src" "$src.tmp"
mkdir -p "$src.tmp"
tar -C "$src.tmp" -xJf "$dl/$orig"
mv "$src.tmp/memcached-$VERSION" "$src"
rmdir "$src.tmp"
tar -C "$src" -xJf "$dl/$deb"
# What dpkg-source -x does for a "3.0 (quilt)" package: the series, in order.
while read -r p; do
    case $p in ''|'#'*) continue ;; esac
    patch -s -p1 -d "$src" < "$src/debian/patches/$p"
done < "$src/debian/patches/series"
# debian/rules' clean: the embedded Lua must not be what gets built
rm -rf "$src/vendor/lua"
log=$out/build-$VERSION.log
(cd "$src" && timeout 300 autoreconf -fi && timeout 300 ./configure --enable-proxy --enable-tls --enable-sasl &&
    timeout 900 make -j2 memcached) >"$log" 2>&1 ||
    { tail -20 "$log" >&2; _say "build failed (see $log)"; exit 1; }
_built || { _say "$bin does not say memcached $VERSION"; exit 1; }
echo "$bin"
