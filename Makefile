# memg — `make` builds build/memg; `make test` runs every test; `make run` serves.
CC ?= cc
ifeq ($(origin CC),default)
CC := cc
endif
OPT ?= -O2
WERROR ?=
SANITIZE ?=
WARN := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wcast-align -Wformat=2 $(if $(WERROR),-Werror)
CPPFLAGS += -Iinclude -D_GNU_SOURCE
CFLAGS ?= $(OPT) -g
CFLAGS += $(WARN)
# MUSL=1: a static binary against musl (Debian's musl-tools): ~150 KB, ~0.2 MB RSS at start.
ifneq ($(MUSL),)
CC := musl-gcc
LDFLAGS += -static
BUILD ?= build/musl
endif
ifneq ($(SANITIZE),)
BUILD ?= build/san
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
else
BUILD ?= build
endif
PY := /usr/bin/python3

SRCS := $(wildcard src/*.c)
OBJS := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/%.c=$(BUILD)/tests/%)

.PHONY: all run test deps unit e2e conformance clean format bench cross test-cross fuzz

all: $(BUILD)/memg

$(BUILD)/memg: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS)

$(BUILD)/obj/%.o: src/%.c $(wildcard include/*.h) | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: tests/test_%.c $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS) -lcmocka

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

run: $(BUILD)/memg
	./$(BUILD)/memg -p 11211 -l 127.0.0.1 -v

deps:
	@sh tests/deps.sh

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; ./$$t; done

e2e: $(BUILD)/memg
	MEMG_BIN=$(CURDIR)/$(BUILD)/memg timeout 900 $(PY) -m pytest -q -p no:cacheprovider tests/e2e

# CROSS=0 skips the ARM builds under qemu (they are skipped under SANITIZE too).
CROSS ?= 1
test: deps
	$(MAKE) unit
	$(MAKE) e2e
ifeq ($(SANITIZE)$(filter 0,$(CROSS)),)
	$(MAKE) test-cross
endif

clean:
	rm -rf build

format:
	clang-format -i src/*.c include/*.h tests/*.c

# Benchmarks (bench/bench.mk), cross builds and fuzzing have their own files.
-include bench/bench.mk
-include mk/*.mk
