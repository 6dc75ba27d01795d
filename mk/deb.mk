# make deb: Debian packages of memg for amd64 (this build) and, with the
# cross toolchains (mk/cross.mk), arm64 and armhf (Raspberry Pi OS), in
# build/deb/memg_VERSION_ARCH.deb. DEB_ARCHS=amd64 builds only the native one.
# Each holds the stripped static binary, memg(1), the systemd units (memg
# enabled) and /etc/memg/memg.conf as a conffile; postinst adds the memg
# system user, postrm removes it on purge. lintian checks each package.
DEB_VERSION := $(shell sed -n 's/^#define MEMG_RELEASE "\(.*\)".*/\1/p' src/lib/settings.h)
DEB_ARCHS ?= amd64 arm64 armhf
deb_bin_amd64 := $(BUILD)/memg
deb_bin_arm64 := build/aarch64/memg
deb_bin_armhf := build/armhf/memg
deb_strip_amd64 := strip
deb_strip_arm64 := aarch64-linux-gnu-strip
deb_strip_armhf := arm-linux-gnueabihf-strip
deb_cross_arm64 := cross-aarch64
deb_cross_armhf := cross-armhf
# TLS=1: the packages hold TLS builds (-Z), linked dynamically against glibc
# and the target's libssl3 (docs/TLS.md), cross-built with Debian's glibc
# cross compilers and multiarch libssl-dev:arm64/armhf.
ifneq ($(TLS),)
deb_bin_arm64 := build/aarch64-tls/memg
deb_bin_armhf := build/armhf-tls/memg
deb_cross_arm64 := deb-tls-aarch64
deb_cross_armhf := deb-tls-armhf
DEB_DEPENDS := , libc6, libssl3
DEB_CROSS_DEPS := build-tls
# A name of its own: inside the sub-make build/ARCH-tls/memg is $(BUILD)/memg.
.PHONY: deb-tls-aarch64 deb-tls-armhf
deb-tls-aarch64 deb-tls-armhf: deb-tls-%:
	+@$(MAKE) --no-print-directory TLS=1 LIBC=glibc CC=$(CROSS_TRIPLET_$*)-gcc \
		GLIBC_CC=$(CROSS_TRIPLET_$*)-gcc BUILD=build/$*-tls WERROR=$(CROSS_WERROR) SANITIZE= \
		EXTRA_LDFLAGS="$(CROSS_LDFLAGS_$*)" build/$*-tls/memg
endif
DEB_CROSS_DEPS ?= build

.PHONY: deb $(DEB_ARCHS:%=deb-%)

deb: $(DEB_ARCHS:%=deb-%)

$(DEB_ARCHS:%=deb-%): deb-%:
	@command -v dpkg-deb >/dev/null || { echo "deb: dpkg-deb is missing"; exit 1; }
	$(if $(deb_cross_$*),@sh tests/deps-cross.sh $(DEB_CROSS_DEPS))
	$(if $(deb_cross_$*),+@$(MAKE) --no-print-directory $(deb_cross_$*),+@$(MAKE) --no-print-directory $(BUILD)/memg)
	rm -rf build/deb/$* && mkdir -p build/deb/$*/root/DEBIAN
	+@$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/build/deb/$*/root PREFIX=/usr \
		SYSCONFDIR=/etc UNITDIR=/lib/systemd/system INSTALL_BIN=$(deb_bin_$*) \
		STRIP="$(deb_strip_$*) --remove-section=.comment --remove-section=.note"
	cd build/deb/$*/root && gzip -9n usr/share/man/man1/memg.1 && \
		install -d usr/share/doc/memg && install -m 644 ../../../../dist/deb/copyright usr/share/doc/memg/ && \
		gzip -9nc ../../../../dist/deb/changelog > usr/share/doc/memg/changelog.gz && \
		install -m 755 ../../../../dist/deb/postinst ../../../../dist/deb/prerm ../../../../dist/deb/postrm DEBIAN/ && \
		echo /etc/memg/memg.conf > DEBIAN/conffiles && \
		find usr lib etc -type f | sort | xargs md5sum > DEBIAN/md5sums && \
		sed -e 's/@VERSION@/$(DEB_VERSION)/' -e 's/@ARCH@/$*/' \
			-e "s/@SIZE@/$$(du -sk --exclude=DEBIAN . | cut -f1)/" \
			-e 's/^Depends: adduser$$/Depends: adduser$(DEB_DEPENDS)/' \
			../../../../dist/deb/control.in > DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build build/deb/$*/root build/deb/memg_$(DEB_VERSION)_$*.deb
	@if command -v lintian >/dev/null; then lintian --fail-on error \
		--suppress-tags statically-linked-binary build/deb/memg_$(DEB_VERSION)_$*.deb; fi
