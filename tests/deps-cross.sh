#!/bin/sh
# What `make cross` / `make test-cross` need on a Debian/Ubuntu amd64 host:
#   build: the aarch64 and armhf cross compilers (and their libc headers), and
#          musl for both targets (multiarch musl-dev:arm64 and :armhf: the
#          server links statically against it, as natively)
#   test:  + qemu-user, and cmocka for both targets (multiarch libcmocka-dev:arm64
#          and :armhf, which needs `dpkg --add-architecture`)
# As root with apt-get, installs what is missing; otherwise prints the exact
# commands. Idempotent and quiet when all is present. Every apt call is bounded.
# usage: tests/deps-cross.sh [build|build-tls|test]
MODE=${1:-test}
BUILD_PKGS="make gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross libc6-dev-armhf-cross musl-dev:arm64 musl-dev:armhf"
TEST_PKGS="qemu-user libcmocka-dev libcmocka-dev:arm64 libcmocka-dev:armhf"
FOREIGN="arm64 armhf"
APT_TIMEOUT=600

PKGS=$BUILD_PKGS
[ "$MODE" = test ] && PKGS="$PKGS $TEST_PKGS"
# build-tls (make deb TLS=1): the targets' OpenSSL for the TLS builds
[ "$MODE" = build-tls ] && PKGS="$PKGS libssl-dev:arm64 libssl-dev:armhf"

installed() {
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q "install ok installed"
}
missing=""
for p in $PKGS; do
    installed "$p" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

# Foreign architectures the missing packages need (pkg:arch).
arches=""
for p in $missing; do
    case $p in
    *:*)
        a=${p#*:}
        dpkg --print-foreign-architectures 2>/dev/null | grep -qx "$a" ||
            case " $arches " in *" $a "*) ;; *) arches="$arches $a" ;; esac
        ;;
    esac
done

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps-cross: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    for a in $arches; do
        dpkg --add-architecture "$a"
    done
    # A foreign architecture's index may lag behind during a mirror sync: go on
    # with what was fetched; the install below says if that was not enough.
    timeout $APT_TIMEOUT apt-get update -qq >/dev/null 2>&1 || true
    if timeout $APT_TIMEOUT apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
        exit 0
    fi
    echo "deps-cross: apt-get install failed (a libc6:arm64/armhf whose version differs"
    echo "deps-cross: from libc6:amd64 during a mirror sync is the usual cause: retry later)"
fi
echo "deps-cross: missing packages:$missing"
echo "deps-cross: install them with:"
for a in $arches; do
    echo "    sudo dpkg --add-architecture $a"
done
[ -n "$arches" ] && echo "    sudo apt-get update"
echo "    sudo apt-get install --no-install-recommends$missing"
exit 1
