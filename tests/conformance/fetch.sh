#!/bin/sh
# Fetch memcached's source package from a Debian suite into a cache folder,
# once: fetch.sh SUITE VERSION CACHE leaves CACHE/memcached-VERSION (the
# unpacked source, t/ included) and prints its path. The suite's deb-src entry
# is added when apt has none (root only); every network step is time-bounded.
set -eu
suite=$1 version=$2 cache=$3
dest=$cache/memcached-$version
if [ -f "$dest/t/lib/MemcachedTest.pm" ]; then
    echo "$dest"
    exit 0
fi
say() { echo "conformance: $*" >&2; }
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "no cached $dest; as root, with apt-get, this script fetches it:"
    say "a deb-src entry for $suite, then apt-get source memcached/$suite"
    exit 1
fi
command -v dpkg-source >/dev/null 2>&1 || sh "$(dirname "$0")/../deps.sh" conformance dpkg-dev >&2
lists=/var/lib/apt/lists
if ! ls "$lists"/*_dists_"$suite"_main_source_Sources* >/dev/null 2>&1; then
    # The mirror the machine already uses for its binary packages (not the
    # security archive, which has no $suite).
    uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
          tr ' ' '\n' | grep -v security | head -n 1)
    file=/etc/apt/sources.list.d/memg-$suite-src.sources
    say "adding $file (deb-src $suite from ${uri:=http://deb.debian.org/debian})"
    printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
        "$uri" "$suite" /usr/share/keyrings/debian-archive-keyring.gpg > "$file"
    timeout 300 apt-get -o DPkg::Lock::Timeout=120 -o Acquire::http::Timeout=30 update -qq >&2 ||
        say "apt-get update failed (the source may still be listed)"
fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# memcached/SUITE: with sid listed too, a bare name would fetch sid's version.
if ! (cd "$tmp" && timeout 300 apt-get -qq -o APT::Sandbox::User=root \
        -o Acquire::http::Timeout=30 source "memcached/$suite") > "$tmp.log" 2>&1; then
    cat "$tmp.log" >&2
    rm -f "$tmp.log"
    exit 1
fi
rm -f "$tmp.log"
if [ ! -f "$tmp/memcached-$version/t/lib/MemcachedTest.pm" ]; then
    say "$suite's memcached is not $version: $(ls "$tmp" | tr '\n' ' ')"
    exit 1
fi
mv "$tmp/memcached-$version" "$dest"
echo "$dest"
