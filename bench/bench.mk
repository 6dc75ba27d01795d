# memg-bench and the memg vs memcached comparison (included by the top Makefile).
#   make bench-tool         build the client (build/memg-bench, or build/glibc/ under musl)
#                           and memg-floor, the do-nothing server the E / A ratio is read against
#   make bench [QUICK=1]    run the comparison, write bench/results/latest.{md,png}, then
#                           the HTTP row (bench/results/http.md: make bench-http) and
#                           the scaling rows (bench/scaling.py: bench/results/scaling.md)
#   make bench-scaling      only the scaling rows
# The client is the same program against either server: it builds against glibc
# whatever the server's libc, and the glibc server's start-up RSS is reported
# beside the default one.
ifeq ($(LIBC),musl)
BENCH_TOOL := $(BUILD)/glibc/memg-bench
BENCH_FLOOR := $(BUILD)/glibc/memg-floor
$(BENCH_TOOL) $(BENCH_FLOOR): FORCE
	+@$(GLIBC_MAKE) $@
else
BENCH_TOOL := $(BUILD)/memg-bench
BENCH_FLOOR := $(BUILD)/memg-floor
endif

BENCH_SRCS := $(filter-out bench/floor.c,$(wildcard bench/*.c))
BENCH_OBJS := $(BENCH_SRCS:bench/%.c=$(BUILD)/obj/bench/%.o)
BENCH_LIBS := $(BUILD)/obj/ev.o $(BUILD)/obj/net.o $(BUILD)/obj/resolve.o $(BUILD)/obj/buf.o $(BUILD)/obj/fmt.o

.PHONY: bench-tool bench bench-selftest bench-scaling

bench-tool: $(BENCH_TOOL) $(BENCH_FLOOR)

$(BUILD)/obj/bench/%.o: bench/%.c $(wildcard bench/*.h) $(wildcard include/*.h) | $(BUILD)/obj
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ibench $(CFLAGS) -c -o $@ $<

$(BUILD)/memg-bench: $(BENCH_OBJS) $(BENCH_LIBS)
	$(CC) $(LDFLAGS) -o $@ $(BENCH_OBJS) $(BENCH_LIBS) -lm

$(BUILD)/memg-floor: $(BUILD)/obj/bench/floor.o
	$(CC) $(LDFLAGS) -o $@ $<

bench-selftest: $(BENCH_TOOL) $(BENCH_FLOOR)
	./$(BENCH_TOOL) --selftest
	sh bench/floor_check.sh ./$(BENCH_FLOOR) ./$(BENCH_TOOL)

bench: $(BUILD)/memg $(BENCH_TOOL) $(BENCH_FLOOR) $(GLIBC_MEMG)
	@sh bench/deps.sh
	$(PY) bench/compare.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) \
		--floor $(CURDIR)/$(BENCH_FLOOR) \
		$(if $(GLIBC_MEMG),--glibc-memg $(CURDIR)/$(GLIBC_MEMG)) $(if $(QUICK),--quick)
	$(MAKE) --no-print-directory bench-http
	$(PY) bench/scaling.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) $(if $(QUICK),--quick)

# The HTTP row: wrk at 400 connections, memg's HTTP front against nginx's
# memcached module in front of memcached -t 1 (bench/http.py).
.PHONY: bench-http
bench-http: $(BUILD)/memg $(BENCH_TOOL)
	@sh tests/deps.sh "bench deps" wrk nginx memcached
	$(PY) bench/http.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) \
		$(if $(QUICK),--seconds 2) | tee bench/results/http.md

bench-scaling: $(BUILD)/memg $(BENCH_TOOL)
	@sh bench/deps.sh
	$(PY) bench/scaling.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) $(if $(QUICK),--quick)

# The client's own checks run with the unit tests (once: in the glibc tree).
ifeq ($(LIBC),glibc)
unit: bench-selftest
endif
