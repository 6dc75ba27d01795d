# memg-bench and the memg vs memcached comparison (included by the top Makefile).
#   make bench-tool         build $(BUILD)/memg-bench
#   make bench [QUICK=1]    run the comparison, write bench/results/latest.{md,png}
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_OBJS := $(BENCH_SRCS:bench/%.c=$(BUILD)/obj/bench/%.o)
BENCH_LIBS := $(BUILD)/obj/ev.o $(BUILD)/obj/net.o $(BUILD)/obj/buf.o

.PHONY: bench-tool bench bench-selftest

bench-tool: $(BUILD)/memg-bench

$(BUILD)/obj/bench/%.o: bench/%.c $(wildcard bench/*.h) $(wildcard include/*.h) | $(BUILD)/obj
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ibench $(CFLAGS) -c -o $@ $<

$(BUILD)/memg-bench: $(BENCH_OBJS) $(BENCH_LIBS)
	$(CC) $(LDFLAGS) -o $@ $(BENCH_OBJS) $(BENCH_LIBS) -lm

bench-selftest: $(BUILD)/memg-bench
	./$(BUILD)/memg-bench --selftest

bench: $(BUILD)/memg $(BUILD)/memg-bench
	@sh bench/deps.sh
	@# the static musl build's start-up RSS is reported beside the default one
	@if command -v musl-gcc >/dev/null; then $(MAKE) --no-print-directory MUSL=1 BUILD=$(BUILD)/musl $(BUILD)/musl/memg; \
	 else echo "bench: no musl-gcc (Debian musl-tools): the MUSL=1 row stays empty"; fi
	$(PY) bench/compare.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BUILD)/memg-bench \
		$(if $(QUICK),--quick)
