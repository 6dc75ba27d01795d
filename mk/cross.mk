# Raspberry Pi builds: aarch64 (64-bit OS) and armhf (32-bit Raspberry Pi OS),
# tested under qemu-user (included by the top Makefile; see docs/RASPBERRY_PI.md).
#   make cross        build/aarch64/memg and build/armhf/memg, warning-free (-Werror)
#   make test-cross   + the unit tests and tests/cross/smoke.py of both under qemu-user
#   make footprint    stripped sizes and start-up RSS -> bench/results/footprint.md
# Missing packages are installed by tests/deps-cross.sh when run as root.
# Knobs: CROSS_WERROR= builds despite warnings; CROSS_BIG=0 skips the armhf
# address-space fill (4.5 GB written, ~15 s, 4 GB of host RAM); QEMU_armhf= and
# QEMU_aarch64= run the binaries directly (on a Pi, or with binfmt_misc).

CROSS_ARCHS := aarch64 armhf
CROSS_TRIPLET_aarch64 := aarch64-linux-gnu
CROSS_TRIPLET_armhf := arm-linux-gnueabihf
QEMU_aarch64 ?= qemu-aarch64 -L /usr/aarch64-linux-gnu
QEMU_armhf ?= qemu-arm -L /usr/arm-linux-gnueabihf
CROSS_WERROR ?= 1
CROSS_BIG ?= 1
CROSS_BUILD_TIMEOUT ?= 900
CROSS_TEST_TIMEOUT ?= 300
CROSS_UNIT_TIMEOUT ?= 120

# The server links statically against musl, as natively, when Debian's
# musl-dev:arm64 / musl-dev:armhf (and their gcc wrappers) are installed, else
# against glibc; the unit tests link glibc's cmocka and build in build/ARCH/glibc.
CROSS_MUSL_aarch64 := aarch64-linux-musl-gcc
CROSS_MUSL_armhf := arm-linux-musleabihf-gcc
cross_libc = $(if $(shell command -v $(CROSS_MUSL_$1) 2>/dev/null),musl,glibc)
cross_cc_musl = $(CROSS_MUSL_$1)
cross_cc_glibc = $(CROSS_TRIPLET_$1)-gcc
# aarch64 segments aligned to 16 KiB instead of 64: the binary still runs on the
# 4 KiB (Pi 3, Pi 4) and 16 KiB (Pi 5) page kernels of Raspberry Pi OS, and the
# file loses up to 48 KiB of padding per segment.
CROSS_LDFLAGS_aarch64 := -Wl,-z,max-page-size=16384
# EXTRA_COLD per arch: modules built for size there only (none: every
# arch's binary stays under 256 KB with the request path at -O2).
CROSS_COLD_aarch64 :=

# $(call cross_make,ARCH,LIBC,BUILD,TARGETS): the top Makefile again, with the cross
# compiler and its own build directory (SANITIZE= : the sanitizers' runtimes are host-only).
cross_make = timeout $(CROSS_BUILD_TIMEOUT) $(MAKE) --no-print-directory \
	CC=$(cross_cc_$2) GLIBC_CC=$(cross_cc_glibc) LIBC=$2 BUILD=$3 WERROR=$(CROSS_WERROR) SANITIZE= \
	EXTRA_LDFLAGS="$(CROSS_LDFLAGS_$1)" EXTRA_COLD="$(CROSS_COLD_$1)" $4
cross_units = $(UNIT_SRCS:tests/%.c=build/$1/glibc/tests/%)

.PHONY: cross test-cross footprint cross-deps cross-deps-build cross-unit cross-smoke \
	$(CROSS_ARCHS:%=cross-%) $(CROSS_ARCHS:%=cross-unit-%) $(CROSS_ARCHS:%=cross-smoke-%)

cross-deps-build:
	@sh tests/deps-cross.sh build

cross-deps:
	@sh tests/deps-cross.sh test

cross: cross-deps-build
	@$(MAKE) --no-print-directory $(CROSS_ARCHS:%=cross-%)

$(CROSS_ARCHS:%=cross-%): cross-%:
	@echo "== cross $*: build/$*/memg ($(call cross_libc,$*))"
	+@$(call cross_make,$*,$(call cross_libc,$*),build/$*,build/$*/memg)

cross-unit: $(CROSS_ARCHS:%=cross-unit-%)

# MEMG_QEMU=1 tells a test it runs under qemu-user, where fork() in a dynamically
# linked guest hangs (aarch64) or crashes (armhf) with qemu 7.2 on recent kernels.
$(CROSS_ARCHS:%=cross-unit-%): cross-unit-%:
	+@$(call cross_make,$*,glibc,build/$*/glibc,$(call cross_units,$*))
	@set -e; for t in $(call cross_units,$*); do \
		echo "== $$t ($(or $(QEMU_$*),native))"; \
		$(if $(QEMU_$*),MEMG_QEMU=1) timeout $(CROSS_UNIT_TIMEOUT) $(QEMU_$*) $$t; done

cross-smoke: $(CROSS_ARCHS:%=cross-smoke-%)

$(CROSS_ARCHS:%=cross-smoke-%): cross-smoke-%: cross-%
	timeout $(CROSS_TEST_TIMEOUT) $(PY) tests/cross/smoke.py --bin build/$*/memg \
		--label $* --wrap "$(QEMU_$*)" $(if $(and $(filter armhf,$*),$(filter-out 0,$(CROSS_BIG))),--big)

# One arch after the other, so that a failure names its arch at the end of the output.
test-cross: cross-deps
	@$(MAKE) --no-print-directory cross
	@$(MAKE) --no-print-directory cross-unit-aarch64 cross-smoke-aarch64
	@$(MAKE) --no-print-directory cross-unit-armhf cross-smoke-armhf
	@echo "test-cross: aarch64 and armhf passed"

# Also the glibc build (build/glibc/memg) beside a static musl default.
footprint: cross-deps-build
	@$(MAKE) --no-print-directory cross $(BUILD)/memg $(GLIBC_MEMG)
	timeout $(CROSS_TEST_TIMEOUT) sh bench/footprint.sh $(BUILD)/memg $(GLIBC_MEMG)
