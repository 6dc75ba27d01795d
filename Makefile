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
# page-aligned ones: 4-8 KB less file (the stripped binary stays under
# 150,000 bytes with the HTTP front). The cost: .rodata is mapped
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
# Size (stripped binary under 150,000 bytes): no unwind tables (C needs none;
# -g keeps .debug_frame for gdb), and unused functions dropped at link time.
CFLAGS += -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables
# No padding to align functions, loops and jump targets: 4 KB of nops in the
# -O2 modules; A, B and C measured 0.96x, 1.01x and 0.86x the CPU per
# request of the padded build in one run (bench/compare.py, 3 rounds).
CFLAGS += -falign-functions=1 -falign-jumps=1 -falign-loops=1 -falign-labels=1
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
# dashboard.o: src/proto/http/dashboard.html gzip-compressed into a C array (mk/embed.sh).
OBJS := $(SRCS:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/dashboard.o
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/%.c=$(BUILD)/tests/%)

.PHONY: all run test deps ref unit e2e conformance clean format bench cross test-cross fuzz

all: $(BUILD)/memg

$(BUILD)/memg: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS)
ifeq ($(LIBC)$(LIBC_AUTO)$(SANITIZE),glibc1)
	@echo "memg: linked against glibc; install musl-tools for the static musl build (0.2 MB RSS at start)"
endif

# Modules off the request path (start-up, flags, logins, stats text) are
# built for size: the stripped binary stays under 150,000 bytes. So are the
# epoll wrapper (its time is the syscalls') and the eviction policy (-1.6 KB;
# +0.9% user-space instructions in a read-through run at -m 16 that evicts
# on every miss, callgrind). Not the binary protocol: -Os there saved 2 KB
# but cost B-bin 1.14x the CPU per request (3 rounds).
COLD := process/config process/config_usage proto/auth lib/stats ops/ops_stats main store/thp \
        proto/negotiate lib/fmt lib/net lib/resolve process/user proto/http/http \
        proto/http/http_parse proto/http/http_page proto/text/meta proto/text/text_meta \
        ops/ops_meta proto/text/base64 process/notify lib/log proto/text/admin ops/prefix \
        ops/ops_observe process/server store/restart lib/ev store/evict $(EXTRA_COLD)
COLD_OPT ?= -Os

$(BUILD)/obj/%.o: src/%.c $(HDRS) $(BUILD)/obj/.build-id | $(BUILD)/obj
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) \
		$(if $(filter $*,$(COLD)),$(COLD_OPT)) -c -o $@ $<

%/gen/dashboard.c: src/proto/http/dashboard.html mk/embed.sh
	@mkdir -p $(dir $@)
	sh mk/embed.sh $< http_dashboard_gz > $@

$(BUILD)/obj/dashboard.o: $(BUILD)/gen/dashboard.c src/proto/http/http.h $(BUILD)/obj/.build-id | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Objects depend on the compiler and flags that made them: switching libc or
# flags in the same build directory rebuilds instead of mixing.
BUILD_ID := $(CC) $(CPPFLAGS) $(filter-out $(WARN),$(CFLAGS)) $(LDFLAGS) $(COLD)
$(BUILD)/obj/.build-id: FORCE | $(BUILD)/obj
	@echo '$(BUILD_ID)' | cmp -s - $@ || echo '$(BUILD_ID)' > $@

$(BUILD)/tests/test_%: tests/test_%.c $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS) -lcmocka

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

# As root memg (like memcached) wants -u: a developer's root shell runs it as root.
run: $(BUILD)/memg
	./$(BUILD)/memg -p 11211 -l 127.0.0.1 -v $(if $(filter 0,$(shell id -u)),-u root)

deps:
	@sh tests/deps.sh

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

e2e: $(BUILD)/memg $(GLIBC_MEMG) ref
	MEMG_BIN=$(CURDIR)/$(BUILD)/memg MEMG_VALGRIND_BIN=$(CURDIR)/$(or $(GLIBC_MEMG),$(BUILD)/memg) timeout 900 $(PY) -m pytest -q -p no:cacheprovider tests/e2e

# CROSS=0 skips the ARM builds under qemu (they are skipped under SANITIZE too).
CROSS ?= 1
# Every suite runs even when one fails; the last line sums them all.
TEST_LOGS := $(BUILD)/test-logs
run_suite = { $(MAKE) $1; echo "make-exit $$?"; } 2>&1 | tee $(TEST_LOGS)/$1.log
test: deps
	@rm -rf $(TEST_LOGS) && mkdir -p $(TEST_LOGS)
	@$(call run_suite,unit)
	@$(call run_suite,e2e)
ifeq ($(SANITIZE)$(filter 0,$(CROSS)),)
	@$(call run_suite,test-cross)
endif
	@sh mk/summary.sh $(TEST_LOGS)/*.log

clean:
	rm -rf build

format:
	clang-format -i $(SRCS) $(HDRS) tests/*.c

# Benchmarks (bench/bench.mk), cross builds and fuzzing have their own files.
-include bench/bench.mk
-include mk/*.mk
