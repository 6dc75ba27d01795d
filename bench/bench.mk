# memg-bench and the memg vs memcached comparison (included by the top Makefile).
#   make bench-tool         build the client (build/memg-bench, or build/glibc/ under musl)
#                           and memg-floor, the do-nothing server the E / A ratio is read against
#   make bench [QUICK=1]    run the comparison against memcached 1.6.45 (make ref builds it)
#                           and 1.6.18, write bench/results/latest.{md,png}, then the
#                           profile (bench/results/profile.md: make bench-profile),
#                           the HTTP row (bench/results/http.md: make bench-http) and
#                           the scaling rows (bench/scaling.py: bench/results/scaling.md);
#                           each of these rows against 1.6.45 too (*-1.6.45.md)
#   make bench-scaling      only the scaling rows
#   make bench-tls          memg over TLS against memcached -Z -t 1 (bench/tls.py: the TLS
#                           build and generator in $(BUILD)/tls; bench/results/tls.md)
#   make bench-restart      -e: time to serve after a restart and RSS, 1M and 10M items, against
#                           memcached -e, and A/B with -e against without (bench/results/restart.md)
# The client is the same program against either server: it builds against glibc
# whatever the server's libc, and the glibc server's start-up RSS is reported
# beside the default one.
ifeq ($(LIBC),musl)
BENCH_TOOL := $(BUILD)/glibc/memg-bench
BENCH_FLOOR := $(BUILD)/glibc/memg-floor
BENCH_SIM := $(BUILD)/glibc/memg-sim
$(BENCH_TOOL) $(BENCH_FLOOR) $(BENCH_SIM): FORCE
	+@$(GLIBC_MAKE) $@
else
BENCH_TOOL := $(BUILD)/memg-bench
BENCH_FLOOR := $(BUILD)/memg-floor
BENCH_SIM := $(BUILD)/memg-sim
endif

BENCH_SRCS := $(filter-out bench/floor.c bench/sim.c bench/sim_oracle.c bench/sim_cand.c bench/sim_prod.c bench/sim_main.c bench/fmtcmp.c,$(wildcard bench/*.c))
BENCH_OBJS := $(BENCH_SRCS:bench/%.c=$(BUILD)/obj/bench/%.o)
BENCH_LIBS := $(addprefix $(BUILD)/obj/lib/,ev.o net.o buf.o fmt.o)

.PHONY: bench-tool bench bench-selftest bench-scaling bench-quality

bench-tool: $(BENCH_TOOL) $(BENCH_FLOOR)

$(BUILD)/obj/bench/%.o: bench/%.c $(wildcard bench/*.h) $(HDRS) | $(BUILD)/obj
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ibench $(CFLAGS) -c -o $@ $<

$(BUILD)/memg-bench: $(BENCH_OBJS) $(BENCH_LIBS)
	$(CC) $(LDFLAGS) -o $@ $(BENCH_OBJS) $(BENCH_LIBS) -lm $(LDLIBS)

# memg-sim: the offline LRU and optimum over the read-through stream.
SIM_OBJS := $(addprefix $(BUILD)/obj/bench/,sim.o sim_oracle.o sim_cand.o sim_prod.o sim_main.o stream.o prod.o zipf.o reply.o)
$(BUILD)/memg-sim: $(SIM_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(SIM_OBJS) -lm

# The simulator's unit test (cmocka) builds with its bench sources.
SIM_TEST_SRCS := bench/sim.c bench/sim_oracle.c bench/sim_cand.c bench/sim_prod.c bench/stream.c bench/prod.c bench/zipf.c bench/reply.c
$(BUILD)/tests/bench/test_sim: tests/bench/test_sim.c $(SIM_TEST_SRCS) $(wildcard bench/*.h) | $(BUILD)/tests
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ibench $(CFLAGS) -o $@ tests/bench/test_sim.c $(SIM_TEST_SRCS) $(LDFLAGS) -lcmocka -lm

$(BUILD)/memg-floor: $(BUILD)/obj/bench/floor.o
	$(CC) $(LDFLAGS) -o $@ $<

bench-selftest: $(BENCH_TOOL) $(BENCH_FLOOR)
	./$(BENCH_TOOL) --selftest
	sh bench/floor_check.sh ./$(BENCH_FLOOR) ./$(BENCH_TOOL)

# memcached 1.6.45, the current reference: one build per clone (make ref, tests/ref/).
BENCH_MC145 := $(CURDIR)/build/ref/memcached-1.6.45/memcached

bench: $(BUILD)/memg $(BENCH_TOOL) $(BENCH_FLOOR) $(GLIBC_MEMG) ref
	@sh bench/deps.sh
	$(PY) bench/compare.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) \
		--floor $(CURDIR)/$(BENCH_FLOOR) --memcached145 $(BENCH_MC145) \
		$(if $(GLIBC_MEMG),--glibc-memg $(CURDIR)/$(GLIBC_MEMG)) $(if $(QUICK),--quick)
	+$(MAKE) --no-print-directory bench-profile
	$(MAKE) --no-print-directory bench-http
	$(PY) bench/scaling.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) $(if $(QUICK),--quick)
	@mkdir -p bench/results/1.6.45
	$(PY) bench/scaling.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) \
		--memcached $(BENCH_MC145) --out bench/results/1.6.45 $(if $(QUICK),--quick)
	+$(MAKE) bench-restart
	+$(MAKE) bench-quality
	+$(MAKE) bench-ttl
	+$(MAKE) bench-prod
	+$(MAKE) bench-sizeaware

# Where memg's user-space instructions per request go on the pipelined rows,
# against memcached 1.6.45 and memg-floor, under callgrind (bench/profile.py):
# bench/results/profile.md. Counts, not times: a shared machine does not move them.
.PHONY: bench-profile
bench-profile: $(BUILD)/memg $(BENCH_TOOL) $(BENCH_FLOOR) ref
	@sh tests/deps.sh "bench profile deps" valgrind
	$(PY) bench/profile.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) \
		--floor $(CURDIR)/$(BENCH_FLOOR) --memcached145 $(BENCH_MC145) \
		$(if $(QUICK),--ops 20000)

# The HTTP row: wrk at 400 connections, memg's HTTP front against nginx's
# memcached module in front of memcached -t 1 (bench/http.py).
# fmt.c against libc's snprintf, built with the server's CC and flags (musl
# by default): the measurement that keeps fmt.c (docs/DESIGN.md, "Build").
.PHONY: bench-fmt
bench-fmt: $(BUILD)/memg-fmtcmp
	./$(BUILD)/memg-fmtcmp
$(BUILD)/memg-fmtcmp: bench/fmtcmp.c $(BUILD)/obj/lib/fmt.o
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDFLAGS)

.PHONY: bench-http
bench-http: $(BUILD)/memg $(BENCH_TOOL) ref
	@sh tests/deps.sh "bench deps" wrk nginx memcached
	$(PY) bench/http.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) \
		$(if $(QUICK),--seconds 2) | tee bench/results/http.md
	@mkdir -p bench/results/1.6.45
	$(PY) bench/http.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) \
		--memcached $(BENCH_MC145) $(if $(QUICK),--seconds 2) | tee bench/results/1.6.45/http.md

.PHONY: bench-restart
bench-restart: $(BUILD)/memg $(BENCH_TOOL) ref
	@sh bench/deps.sh
	$(PY) bench/restart.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) $(if $(QUICK),--quick)
	@mkdir -p bench/results/1.6.45
	$(PY) bench/restart.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) \
		--memcached $(BENCH_MC145) --no-ab --out bench/results/1.6.45/restart.md $(if $(QUICK),--quick)

bench-scaling: $(BUILD)/memg $(BENCH_TOOL) ref
	@sh bench/deps.sh
	$(PY) bench/scaling.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) $(if $(QUICK),--quick)
	@mkdir -p bench/results/1.6.45
	$(PY) bench/scaling.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) \
		--memcached $(BENCH_MC145) --out bench/results/1.6.45 $(if $(QUICK),--quick)

#   make bench-quality [QUICK=1]  read-through miss ratios against memcached and the
#                           offline LRU, S3-FIFO and optimum: bench/results/quality.{md,svg}, and
#                           what the optimum reaches against it: bench/results/reach.md (~18 min)
QUALITY_COMMA := ,
bench-quality: $(BUILD)/memg $(BENCH_TOOL) $(BENCH_SIM) ref
	@sh bench/deps.sh
	$(PY) bench/quality.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) \
		--sim $(CURDIR)/$(BENCH_SIM) $(if $(QUICK),--only zipf-1.0$(QUALITY_COMMA)scan-1.0)
	@mkdir -p bench/results/1.6.45
	$(PY) bench/quality.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) \
		--sim $(CURDIR)/$(BENCH_SIM) --memcached $(BENCH_MC145) --out bench/results/1.6.45/quality \
		$(if $(QUICK),--only zipf-1.0$(QUALITY_COMMA)scan-1.0)

#   make bench-ttl [QUICK=1]  expired memory over time: 4 s of sets with a 2 s TTL at -m 1024,
#                           then idle to +60 s (+15 s), and the same writes at a -m they exceed, memg against memcached:
#                           bench/results/ttl.{md,svg} (~2.5 min)
.PHONY: bench-ttl bench-prod
bench-ttl: $(BUILD)/memg $(BENCH_TOOL)
	@sh bench/deps.sh
	$(PY) bench/ttl.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) $(if $(QUICK),--quick)

#   make bench-prod [QUICK=1]  miss ratios on streams shaped by Twitter's cluster statistics,
#                           -m 4 and 16 (16), with memg-sim's floor and optimum:
#                           bench/results/prod.md (~13 min; ~7)
bench-prod: $(BUILD)/memg $(BENCH_TOOL) $(BENCH_SIM)
	@sh bench/deps.sh
	$(PY) bench/prod.py --memg $(CURDIR)/$(BUILD)/memg --tool $(CURDIR)/$(BENCH_TOOL) \
	  --sim $(CURDIR)/$(BENCH_SIM) $(if $(QUICK),--quick)

#   make bench-sizeaware    size-aware candidates in memg-sim against LRU, S3-FIFO and the
#                           optimum on bench-quality's streams: bench/results/sizeaware.md, and
#                           bench/results/reach.md against quality.md's memcached figures (~4 min)
.PHONY: bench-sizeaware
bench-sizeaware: $(BENCH_SIM)
	$(PY) bench/sizeaware.py --sim $(CURDIR)/$(BENCH_SIM)

# The client's own checks run with the unit tests (once: in the glibc tree).
ifeq ($(LIBC),glibc)
unit: bench-selftest
endif

.PHONY: bench-tls
bench-tls:
	+@$(MAKE) --no-print-directory TLS=1 LIBC=glibc CC=$(GLIBC_CC) BUILD=$(BUILD)/tls \
		$(BUILD)/tls/memg $(BUILD)/tls/memg-bench
	$(PY) bench/tls.py --memg $(CURDIR)/$(BUILD)/tls/memg --tool $(CURDIR)/$(BUILD)/tls/memg-bench
