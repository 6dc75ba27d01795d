# memg — `make` builds build/memg; `make test` runs every test; `make run` serves.
# Which libc the server links (docs/DESIGN.md, "Build"): musl, statically, when
# Debian's musl-tools is installed and CC is not chosen (0.2 MB RSS at start,
# no shared library to map); otherwise glibc, dynamically. LIBC=glibc or
# LIBC=musl chooses. Whatever needs glibc (the cmocka unit tests, the bench
# client, valgrind) builds with GLIBC_CC in $(BUILD)/glibc.
ifeq ($(origin CC),default)
CC := cc
AUTO_CC := 1
endif
GLIBC_CC ?= cc
OPT ?= -O2
# TLS=1: -Z and the -o ssl_* options, through Debian's OpenSSL 3 (libssl-dev).
# Its libssl.a is built against glibc, so a TLS build links glibc and
# libssl dynamically (docs/TLS.md); the default build has no OpenSSL at all.
TLS ?=
ifneq ($(TLS),)
ifeq ($(LIBC),)
LIBC := glibc
endif
ifeq ($(LIBC),musl)
$(error TLS=1 links Debian's OpenSSL, which needs glibc: drop LIBC=musl)
endif
endif
WERROR ?=
SANITIZE ?=
ifeq ($(LIBC),)
LIBC_AUTO := $(AUTO_CC)
LIBC := $(if $(and $(AUTO_CC),$(if $(SANITIZE),,1),$(shell command -v musl-gcc 2>/dev/null)),musl,glibc)
endif
ifeq ($(LIBC),musl)
ifneq ($(AUTO_CC),)
CC := musl-gcc
endif
LDFLAGS += -static
# RELRO is applied by a dynamic loader, which a static musl binary does not
# have (its GOT stays writable either way); without it the file loses the
# padding that page-aligns the RELRO end (12 KB on aarch64).
LDFLAGS += -Wl,-z,norelro
# One read-only segment for headers, code and constants instead of three
# page-aligned ones: 4-8 KB less file. The cost: .rodata is mapped
# executable too, as in binutils before 2.31.
LDFLAGS += -Wl,-z,noseparate-code
# The data segment follows the code in the file without padding to a page
# boundary (ld pads up to a common page, 4 KB, to save one page of memory at
# run time; it cost 0.4 KB of file on x86-64 and 1.7 KB on aarch64).
LDFLAGS += -Wl,-z,common-page-size=64
# The executable is static and not position-independent, so its code need
# not be either: absolute addresses instead of GOT-relative ones, and const
# pointer tables in .rodata rather than .data.rel.ro (-3 KB, no cost).
NO_PIE := -fno-pie
LDFLAGS += -no-pie
endif
# Link flags a caller adds without replacing LDFLAGS (mk/cross.mk).
LDFLAGS += $(EXTRA_LDFLAGS)
WARN := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wcast-align -Wformat=2 $(if $(WERROR),-Werror)
# Includes name the folder ("lib/fmt.h"); a folder's own headers are included
# by their bare name, found beside the file that includes them.
CPPFLAGS += -Isrc -D_GNU_SOURCE
CFLAGS ?= $(OPT) -g
CFLAGS += $(WARN) $(NO_PIE)
ifneq ($(SANITIZE),)
BUILD ?= build/san
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
else
BUILD ?= build
# Size (stripped binary at most 256 KB): no unwind tables (C needs none;
# -g keeps .debug_frame for gdb), and unused functions dropped at link time.
CFLAGS += -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables
# No padding to align functions, loops and jump targets: 4 KB of nops in the
# -O2 modules; A, B and C measured 0.96x, 1.01x and 0.86x the CPU per
# request of the padded build in one run (bench/compare.py, 3 rounds).
ALIGN ?= -falign-functions=1 -falign-jumps=1 -falign-loops=1 -falign-labels=1
CFLAGS += $(ALIGN)
LDFLAGS += -Wl,--gc-sections
endif
# The same tree again, built against glibc in $(BUILD)/glibc.
GLIBC_MAKE = $(MAKE) --no-print-directory LIBC=glibc CC=$(GLIBC_CC) BUILD=$(BUILD)/glibc
PY := /usr/bin/python3

# src/ holds one folder per layer (docs/DESIGN.md, "Layers"); a folder's
# private headers (store/seg.h: the record format, struct store) are included
# only by its own files and by the unit tests that look inside.
SRCS := $(wildcard src/*.c src/*/*.c src/*/*/*.c)
HDRS := $(wildcard src/*/*.h src/*/*/*.h)
# TLS=1: OpenSSL's transport; otherwise tls_none.c, which refuses -Z at start.
ifneq ($(TLS),)
SRCS := $(filter-out src/conn/tls_none.c,$(SRCS))
CPPFLAGS += -DMEMG_TLS
LDLIBS += -lssl -lcrypto
else
SRCS := $(filter-out src/conn/tls_ctx.c src/conn/transport_tls.c,$(SRCS))
endif
# dashboard.o: src/proto/http/dashboard.html as it is and gzip-compressed, two C arrays (mk/embed.sh).
OBJS := $(SRCS:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/dashboard.o
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
# Unit tests mirror src/: tests/lib/test_fmt.c tests src/lib/fmt.c.
UNIT_SRCS := $(wildcard tests/*/test_*.c tests/*/*/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/%.c=$(BUILD)/tests/%)

.PHONY: all run test deps ref unit e2e conformance conformance-tls clean format bench cross test-cross fuzz layers

all: $(BUILD)/memg

$(BUILD)/memg: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)
ifeq ($(LIBC)$(LIBC_AUTO)$(SANITIZE),glibc1)
	@echo "memg: linked against glibc; install musl-tools for the static musl build (0.2 MB RSS at start)"
endif

# Modules that run once or on an operator's command (start-up, flags,
# logins, `stats` text, the dashboard page, dumps) are built for size; every
# module a request passes through is -O2. Measured (bench/compare.py, A B
# B-bin C, 5 alternating rounds, shared machine): with the epoll loop, the
# meta and HTTP fronts, log, fmt and eviction -Os as well, B cost 1.10x and
# C 1.17x the CPU per request of an all -O2 build (A, B-bin 0.99x), for
# 15 KB of file.
COLD := main process/config process/config_usage process/notify process/server lib/settings \
        lib/stats proto/auth proto/negotiate proto/text/admin proto/http/http_page \
        ops/ops_stats store/thp store/restart process/config_tls process/config_ext process/listen conn/tls_ctx \
        conn/tls_none $(EXTRA_COLD)
COLD_OPT ?= -Os

$(BUILD)/obj/%.o: src/%.c $(HDRS) $(BUILD)/obj/.build-id | $(BUILD)/obj
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) \
		$(if $(filter $*,$(COLD)),$(COLD_OPT)) -c -o $@ $<

%/gen/dashboard.c: src/proto/http/dashboard.html mk/embed.sh
	@mkdir -p $(dir $@)
	sh mk/embed.sh $< http_dashboard > $@

$(BUILD)/obj/dashboard.o: $(BUILD)/gen/dashboard.c src/proto/http/http.h $(BUILD)/obj/.build-id | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Objects depend on the compiler and flags that made them: switching libc or
# flags in the same build directory rebuilds instead of mixing.
BUILD_ID := $(CC) $(CPPFLAGS) $(filter-out $(WARN),$(CFLAGS)) $(LDFLAGS) $(COLD)
$(BUILD)/obj/.build-id: FORCE | $(BUILD)/obj
	@echo '$(BUILD_ID)' | cmp -s - $@ || echo '$(BUILD_ID)' > $@

$(BUILD)/tests/%: tests/%.c tests/drive.h $(LIB_OBJS) | $(BUILD)/tests
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS) -lcmocka $(LDLIBS)

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

# As root memg (like memcached) wants -u: a developer's root shell runs it as root.
run: $(BUILD)/memg
	./$(BUILD)/memg -p 11211 -l 127.0.0.1 -v $(if $(filter 0,$(shell id -u)),-u root)

# memcached's own t/ suite (tests/conformance/README.md): the source of
# Debian's memcached package, fetched once into build/conformance by `deps`.
CONFORMANCE_SUITE ?= bookworm
CONFORMANCE_VERSION ?= 1.6.18
CONFORMANCE_CACHE := build/conformance
conformance_fetch = sh tests/conformance/fetch.sh $(CONFORMANCE_SUITE) $(CONFORMANCE_VERSION) $(CONFORMANCE_CACHE)

deps:
	@sh tests/deps.sh
	@$(conformance_fetch) >/dev/null || echo "deps: memcached's t/ suite could not be fetched"

# It runs 1.6.45's whole suite (make ref's source), then of the older suite
# only the files whose copy differs from 1.6.45's. (Both at once took as
# long: the longest files, binary.t and getset.t in each, want the CPU.)
REF_SRC := build/ref/memcached-1.6.45
conformance_run = $(if $(SANITIZE),CONFORMANCE_FILE_SECONDS=600) sh tests/conformance/run.sh
conformance: $(BUILD)/memg ref
	@$(conformance_run) $(REF_SRC) $(BUILD)/memg $(BUILD)/conformance/run-1.6.45; s=$$?; \
	src=$$($(conformance_fetch)) && CONFORMANCE_UNLIKE=$(REF_SRC) \
	$(conformance_run) "$$src" $(BUILD)/memg $(BUILD)/conformance/run-$(CONFORMANCE_VERSION) && exit $$s

# memcached 1.6.45's t/ files in the suite's own SSL mode (SSL_TEST=1: every
# server -Z, every client IO::Socket::SSL) against the TLS build: the ssl_*.t
# files and the ordinary files whose paths TLS changes; left-out-tls-1.6.45.txt
# says why each other file is left out. Its source is the one `ref` builds.
# Five files at once: they mostly wait (server starts, handshakes, sleeps).
conformance-tls: $(TLS_MEMG) ref
	@bin=$$(sh tests/ref/memcached-1.6.45.sh) && \
	SSL_TEST=1 CONFORMANCE_JOBS=5 CONFORMANCE_LIST=tests/conformance/left-out-tls-1.6.45.txt \
	sh tests/conformance/run.sh "$${bin%/*}" $(TLS_MEMG) $(BUILD)/conformance/run-tls-1.6.45

# memcached 1.6.45, the second reference, built once from Debian's sid source
# package into build/ref (tests/ref/memcached-1.6.45.sh).
ref:
	@sh tests/ref/memcached-1.6.45.sh >/dev/null

ifeq ($(LIBC),musl)
# cmocka is built against glibc, so are the unit tests; fuzz-regress (mk/fuzz.mk)
# replays the corpus against the musl objects too.
unit:
	+@$(GLIBC_MAKE) unit
else
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; ./$$t; done
endif

# The musl build is static; valgrind watches malloc only in a dynamic one.
ifeq ($(LIBC),musl)
GLIBC_MEMG := $(BUILD)/glibc/memg
$(GLIBC_MEMG): FORCE
	+@$(GLIBC_MAKE) $@
else
GLIBC_MEMG :=
endif

.PHONY: FORCE
FORCE:

# The TLS build the TLS tests run (tests/e2e/test_tls*.py), in its own directory.
TLS_MEMG := $(BUILD)/tls/memg
$(TLS_MEMG): FORCE
	+@$(MAKE) --no-print-directory TLS=1 LIBC=glibc CC=$(GLIBC_CC) BUILD=$(BUILD)/tls $@

e2e: $(BUILD)/memg $(GLIBC_MEMG) $(TLS_MEMG) ref
	MEMG_BIN=$(CURDIR)/$(BUILD)/memg MEMG_TLS_BIN=$(CURDIR)/$(TLS_MEMG) MEMG_VALGRIND_BIN=$(CURDIR)/$(or $(GLIBC_MEMG),$(BUILD)/memg) timeout 900 $(PY) -m pytest -q -p no:cacheprovider tests/e2e

# CROSS=0 skips the ARM builds under qemu (they are skipped under SANITIZE too).
CROSS ?= 1
# Every suite runs even when one fails; the last line sums them all.
TEST_LOGS := $(BUILD)/test-logs
run_suite = { $(MAKE) $1; echo "make-exit $$?"; } 2>&1 | tee $(TEST_LOGS)/$1.log
test: deps
	@rm -rf $(TEST_LOGS) && mkdir -p $(TEST_LOGS)
	@$(call run_suite,layers)
	@$(call run_suite,unit)
	@$(call run_suite,e2e)
	@$(call run_suite,conformance)
	@$(call run_suite,conformance-tls)
ifeq ($(SANITIZE)$(filter 0,$(CROSS)),)
	@$(call run_suite,test-cross)
endif
	@sh mk/summary.sh $(TEST_LOGS)/*.log

# The include lines against the layer order (docs/DESIGN.md, "Layers"):
# nothing runs back up, sideways or in a circle.
# The check checks itself first on a tree made to break each rule once.
layers:
	@sh tests/layers_selftest.sh
	@sh mk/layers.sh src && echo "layers: every include points down"

clean:
	rm -rf build

format:
	clang-format -i $(SRCS) $(HDRS) $(UNIT_SRCS) tests/drive.h

# Benchmarks (bench/bench.mk), cross builds and fuzzing have their own files.
-include bench/bench.mk
-include mk/*.mk
