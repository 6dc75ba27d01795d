# make install / uninstall (included by the top Makefile). PREFIX (default
# /usr/local) and DESTDIR as usual: the binary (stripped), memg(1), the
# systemd units (memg.service, memg@.service) and the flags file they read.
# An existing flags file is kept (it is the operator's); uninstall removes it
# only when it is still the one shipped.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR ?= $(PREFIX)/lib/systemd/system
STRIP ?= strip
INSTALL_BIN ?= $(BUILD)/memg
UNITS := memg.service memg@.service

.PHONY: install uninstall

install: $(INSTALL_BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/memg
	install -m 755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/memg
	$(STRIP) $(DESTDIR)$(BINDIR)/memg
	install -m 644 dist/memg.1 $(DESTDIR)$(MANDIR)/man1/memg.1
	for u in $(UNITS); do \
		sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' dist/$$u.in \
			> $(DESTDIR)$(UNITDIR)/$$u && chmod 644 $(DESTDIR)$(UNITDIR)/$$u; done
	[ -e $(DESTDIR)$(SYSCONFDIR)/memg/memg.conf ] || \
		install -m 644 dist/memg.conf $(DESTDIR)$(SYSCONFDIR)/memg/memg.conf

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/memg $(DESTDIR)$(MANDIR)/man1/memg.1 \
		$(UNITS:%=$(DESTDIR)$(UNITDIR)/%)
	if cmp -s dist/memg.conf $(DESTDIR)$(SYSCONFDIR)/memg/memg.conf; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/memg/memg.conf; \
		rmdir $(DESTDIR)$(SYSCONFDIR)/memg 2>/dev/null || true; fi
