# Fuzzing, sanitizers, valgrind and soak (included by the top Makefile).
# The harnesses look inside the store (its private header store/seg.h).
#   make fuzz [FUZZ_SECONDS=60]   libFuzzer targets under ASan+UBSan, each N seconds
#   make fuzz-build               just build build/fuzz/fuzz_{proto,conn,bin,http}
#   make fuzz-regress             replay fuzz/corpus (seeds + crash reproducers), any CC;
#                                 part of `make unit`, hence of `make test`
#   make valgrind                 e2e smoke of build/glibc/memg under valgrind, no leak at exit
#   make soak [SOAK_SECONDS=60]   mixed hostile load over text, meta, binary and HTTP
#                                 against build/san/memg (ASan+UBSan); CI: 90 s
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR := build/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# FUZZ_EXTRA: extra flags, e.g. -fno-sanitize=... to fuzz past a known finding
# (then rm -rf build/fuzz/obj: objects do not track flags).
FUZZ_EXTRA ?=
FUZZ_CFLAGS := -O1 -g -std=c11 -Wall -Wextra $(FUZZ_SAN) $(FUZZ_EXTRA)
FUZZ_TARGETS := proto conn bin http
FUZZ_LIB_SRCS := $(filter-out src/main.c,$(SRCS))
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:src/%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_DIR)/obj/dashboard.o
FUZZ_OPTS = -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -max_total_time=$(FUZZ_SECONDS)
# Per target: the longest input (fuzz_conn's small read blocks make short
# inputs reach the large-value paths).
FUZZ_MAXLEN_proto := 4096
FUZZ_MAXLEN_conn := 16384
FUZZ_MAXLEN_bin := 65536
FUZZ_MAXLEN_http := 16384

.PHONY: fuzz fuzz-build fuzz-deps fuzz-regress valgrind soak

fuzz-deps:
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}\n' \
		> /tmp/memg-fuzzcheck.c
	@if ! $(FUZZ_CC) -fsanitize=fuzzer /tmp/memg-fuzzcheck.c -o /tmp/memg-fuzzcheck 2>/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "fuzz: installing clang and libFuzzer"; \
			apt-get update -qq >/dev/null 2>&1 || true; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				clang libclang-rt-dev >/dev/null || \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				clang libclang-rt-14-dev >/dev/null; \
		fi; \
		$(FUZZ_CC) -fsanitize=fuzzer /tmp/memg-fuzzcheck.c -o /tmp/memg-fuzzcheck || \
			{ echo "fuzz: $(FUZZ_CC) -fsanitize=fuzzer does not work (install clang)"; exit 1; }; \
	fi
	@rm -f /tmp/memg-fuzzcheck /tmp/memg-fuzzcheck.c

$(FUZZ_DIR)/obj/%.o: src/%.c $(HDRS) | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/obj/dashboard.o: $(FUZZ_DIR)/gen/dashboard.c src/proto/http/http.h | fuzz-deps
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/fuzz_proto: fuzz/fuzz_proto.c $(addprefix $(FUZZ_DIR)/obj/,proto/text/proto.o proto/text/reply.o proto/text/meta.o proto/text/base64.o proto/client_flags.o lib/fmt.o)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^

$(FUZZ_DIR)/fuzz_conn: fuzz/fuzz_conn.c fuzz/cuts.c fuzz/cuts.h $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^)

# fuzz_bin drives the protocol as conn would, with the tests' drive.h.
$(FUZZ_DIR)/fuzz_bin: fuzz/fuzz_bin.c tests/drive.h $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(CPPFLAGS) -Itests $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ fuzz/fuzz_bin.c $(FUZZ_LIB_OBJS)

# fuzz_http likewise (the HTTP front and its head parser).
$(FUZZ_DIR)/fuzz_http: fuzz/fuzz_http.c tests/drive.h $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(CPPFLAGS) -Itests $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ fuzz/fuzz_http.c $(FUZZ_LIB_OBJS)

# fuzz_tls: the TLS record path (fuzz/fuzz_tls.c), with OpenSSL's transport
# instead of tls_none.c. Not in FUZZ_TARGETS: `make fuzz-tls`.
FUZZ_TLS_OBJS := $(filter-out $(FUZZ_DIR)/obj/conn/tls_none.o,$(FUZZ_LIB_OBJS)) \
                 $(FUZZ_DIR)/obj/conn/tls_ctx.o $(FUZZ_DIR)/obj/conn/transport_tls.o
$(FUZZ_DIR)/fuzz_tls: fuzz/fuzz_tls.c $(FUZZ_TLS_OBJS)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lssl -lcrypto

.PHONY: fuzz-tls fuzz-regress-tls
fuzz-tls: $(FUZZ_DIR)/fuzz_tls
	@mkdir -p $(FUZZ_DIR)/corpus-tls
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		./$(FUZZ_DIR)/fuzz_tls $(FUZZ_OPTS) -max_len=65536 -artifact_prefix=$(FUZZ_DIR)/crash-tls- \
		$(FUZZ_DIR)/corpus-tls fuzz/corpus/tls > $(FUZZ_DIR)/fuzz_tls.log 2>&1 || \
		{ tail -60 $(FUZZ_DIR)/fuzz_tls.log; echo "fuzz_tls FAILED"; exit 1; }
	@grep -E '^(stat::|Done)' $(FUZZ_DIR)/fuzz_tls.log || true

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

# Each target fuzzes into build/fuzz/corpus-NAME (new inputs) from the seeds
# in fuzz/corpus/NAME; a crash leaves build/fuzz/crash-NAME-* and fails make.
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_DIR)/corpus-$$t; \
		echo "== fuzz_$$t for $(FUZZ_SECONDS) s (log: $(FUZZ_DIR)/fuzz_$$t.log)"; \
		maxlen=$(FUZZ_MAXLEN_proto); [ $$t = conn ] && maxlen=$(FUZZ_MAXLEN_conn); \
		[ $$t = bin ] && maxlen=$(FUZZ_MAXLEN_bin); [ $$t = http ] && maxlen=$(FUZZ_MAXLEN_http); \
		dict=fuzz/memcached.dict; [ $$t = http ] && dict=fuzz/http.dict; \
		if [ $$t = conn ]; then dict=$(FUZZ_DIR)/conn.dict; \
			cat fuzz/memcached.dict fuzz/http.dict > $$dict; fi; \
		rc=0; ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		./$(FUZZ_DIR)/fuzz_$$t $(FUZZ_OPTS) -dict=$$dict -max_len=$$maxlen \
			-artifact_prefix=$(FUZZ_DIR)/crash-$$t- \
			$(FUZZ_DIR)/corpus-$$t fuzz/corpus/$$t > $(FUZZ_DIR)/fuzz_$$t.log 2>&1 || rc=$$?; \
		grep -E '^(stat::|Done|==[0-9]+==ERROR|SUMMARY|fuzz_|.*runtime error)' \
			$(FUZZ_DIR)/fuzz_$$t.log || true; \
		if [ $$rc != 0 ]; then tail -60 $(FUZZ_DIR)/fuzz_$$t.log; \
			echo "fuzz_$$t FAILED (reproducer: $(FUZZ_DIR)/crash-$$t-*)"; exit 1; fi; \
	done

# Replay: the targets linked with a plain main() and this build's CC and
# SANITIZE, run once over every seed and reproducer.
$(BUILD)/fuzz/regress_proto: fuzz/standalone.c fuzz/fuzz_proto.c $(addprefix $(BUILD)/obj/,proto/text/proto.o proto/text/reply.o proto/text/meta.o proto/text/base64.o proto/client_flags.o lib/fmt.o)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDFLAGS)

$(BUILD)/fuzz/regress_conn: fuzz/standalone.c fuzz/fuzz_conn.c fuzz/cuts.c fuzz/cuts.h $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(filter %.c %.o,$^) $(LDFLAGS)

$(BUILD)/fuzz/regress_bin: fuzz/standalone.c fuzz/fuzz_bin.c tests/drive.h $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -o $@ fuzz/standalone.c fuzz/fuzz_bin.c $(LIB_OBJS) $(LDFLAGS)

$(BUILD)/fuzz/regress_http: fuzz/standalone.c fuzz/fuzz_http.c tests/drive.h $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -o $@ fuzz/standalone.c fuzz/fuzz_http.c $(LIB_OBJS) $(LDFLAGS)

fuzz-regress: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/regress_%)
	@set -e; for t in $(FUZZ_TARGETS); do ./$(BUILD)/fuzz/regress_$$t fuzz/corpus/$$t; done

# The TLS corpus replays in the TLS build (glibc, in build/tls beside the
# default one, as make e2e's).
ifneq ($(TLS),)
$(BUILD)/fuzz/regress_tls: fuzz/standalone.c fuzz/fuzz_tls.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)
fuzz-regress-tls: $(BUILD)/fuzz/regress_tls
	./$(BUILD)/fuzz/regress_tls fuzz/corpus/tls
else
fuzz-regress-tls:
	+@$(MAKE) --no-print-directory TLS=1 LIBC=glibc CC=$(GLIBC_CC) \
		BUILD=$(patsubst %/glibc,%,$(BUILD))/tls fuzz-regress-tls
endif

unit: fuzz-regress fuzz-regress-tls

# valgrind needs the plain build (not SANITIZE's), dynamically linked so that
# it can watch malloc.
valgrind:
	$(MAKE) SANITIZE= LIBC=glibc CC=$(GLIBC_CC) BUILD=build/glibc build/glibc/memg
	MEMG_BIN=$(CURDIR)/build/glibc/memg timeout 300 $(PY) fuzz/valgrind_smoke.py

soak:
	$(MAKE) SANITIZE=address,undefined build/san/memg
	timeout $$(( $(SOAK_SECONDS) + 120 )) $(PY) fuzz/soak.py --bin $(CURDIR)/build/san/memg \
		--seconds $(SOAK_SECONDS)
