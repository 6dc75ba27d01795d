# make deb: Debian packages of memg for amd64 (this build) and, with the
# cross toolchains (mk/cross.mk), arm64 and armhf (Raspberry Pi OS), in
# build/deb/memg_VERSION_ARCH.deb. DEB_ARCHS=amd64 builds only the native one.
# Each holds the stripped static binary, memg(1), the systemd units (memg
# enabled) and /etc/memg/memg.conf as a conffile; postinst adds the memg
# system user, postrm removes it on purge. lintian checks each package.
DEB_VERSION := $(shell sed -n 's/^#define MEMG_RELEASE "\(.*\)".*/\1/p' src/process/config.h)
DEB_ARCHS ?= amd64 arm64 armhf
deb_bin_amd64 := $(BUILD)/memg
deb_bin_arm64 := build/aarch64/memg
deb_bin_armhf := build/armhf/memg
deb_strip_amd64 := strip
deb_strip_arm64 := aarch64-linux-gnu-strip
deb_strip_armhf := arm-linux-gnueabihf-strip
deb_cross_arm64 := cross-aarch64
deb_cross_armhf := cross-armhf

.PHONY: deb $(DEB_ARCHS:%=deb-%)

deb: $(DEB_ARCHS:%=deb-%)

$(DEB_ARCHS:%=deb-%): deb-%:
	@command -v dpkg-deb >/dev/null || { echo "deb: dpkg-deb is missing"; exit 1; }
	$(if $(deb_cross_$*),+@$(MAKE) --no-print-directory cross-deps-build $(deb_cross_$*),+@$(MAKE) --no-print-directory $(BUILD)/memg)
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
			../../../../dist/deb/control.in > DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build build/deb/$*/root build/deb/memg_$(DEB_VERSION)_$*.deb
	@if command -v lintian >/dev/null; then lintian --fail-on error \
		--suppress-tags statically-linked-binary build/deb/memg_$(DEB_VERSION)_$*.deb; fi
