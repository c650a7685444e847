# mbackup — plain Makefile.  `make`, `make check`, `make check-asan`,
# `make install`, `make bench`, `make fuzz`.
# CFLAGS, LDFLAGS and LDLIBS are the user's (`make CFLAGS=-O0`); the flags
# the build cannot do without are MB_CFLAGS and MB_LDLIBS, always used.
# SAN_FLAGS is for check-asan.
CC      ?= cc
CFLAGS  ?= -O2 -g
MB_CFLAGS := -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter -I. \
           -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -pthread -I$(shell pg_config --includedir)
MB_LDLIBS := -lsqlite3 -ljansson -lcrypto -lzstd -ldevmapper -pthread -ldl
SAN_FLAGS :=
ALL_CFLAGS = $(MB_CFLAGS) $(CFLAGS) $(SAN_FLAGS)
PREFIX  ?= /usr/local
BUILD   := build

LIB_SRC  := $(wildcard common/*.c image/*.c extentmap/*.c plugins/*/*.c plugins/*/*/*.c) \
            $(filter-out orchestrator/main.c,$(wildcard orchestrator/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%.t)

all: $(BUILD)/mbackup

$(BUILD)/mbackup: $(BUILD)/orchestrator/main.o $(BUILD)/libmbackup.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(MB_LDLIBS)

$(BUILD)/libmbackup.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/unit/%.t: tests/unit/%.c $(BUILD)/libmbackup.a tests/lib/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmbackup.a $(LDLIBS) $(MB_LDLIBS)

units: $(UNIT_BIN)

# The one test command: unit tests (C) then integration tests (the binary
# against real loop filesystems), all under prove.  Each host test has its
# own scratch directory, loop devices, catalog (and so its lock),
# PostgreSQL socket directory and Ceph ports, and mostly waits (fsync,
# PostgreSQL, the store): they run two at a time, the slowest first so
# that the pair does not end on one.  Those that time what they assert (a
# kill inside the window, a deadline, "fails at once") then run one at a
# time.  The QEMU suites (*-vm.t) each boot a guest with one vCPU that
# keeps one core busy under TCG: the longest (the tape suite, about as
# long as all the host tests) runs alongside the host tests from the
# start, its output kept in $(BUILD)/check-vm-long.log and shown after;
# the others run two at a time after the host tests.
VM_TESTS := $(wildcard tests/integration/*-vm.t)
HOST_TESTS := $(filter-out $(VM_TESTS),$(wildcard tests/integration/*.t))
HOST_TIMED := $(wildcard $(addprefix tests/integration/,55-lock-catalog.t 60-kill-window.t \
	62-signals.t 63-kill-group.t 64-term-checkpoint.t 64-term-premap.t 65-fault-matrix.t \
	86-pg-deadline.t))
HOST_SLOW := $(wildcard $(addprefix tests/integration/,95-multi.t 89-pitr.t 88-wal-check.t \
	98-increments-pg.t 99-fuzz.t 58-s3.t 85-postgres.t 58-s3-failover.t 59-s3-pg.t \
	80-big-sparse.t 61-wal-s3.t 87-wal-push.t 87-pace.t))
HOST_PAR := $(HOST_SLOW) $(filter-out $(HOST_TIMED) $(HOST_SLOW),$(HOST_TESTS))
VM_LONG := $(wildcard tests/integration/92-tape-vm.t)
VM_REST := $(wildcard tests/integration/94-thin-vm.t) \
	$(filter-out $(VM_LONG) tests/integration/94-thin-vm.t,$(VM_TESTS))
# When the host tests fail, their summary is printed again at the very
# end, after the guest suites' output, where a CI log's tail shows it.
check: all units
	@rm -f $(BUILD)/check-*.failed; \
	{ prove --exec '' $(PROVE_FLAGS) $(VM_LONG) >$(BUILD)/check-vm-long.log 2>&1 || \
		touch $(BUILD)/check-vm-long.failed; } & long=$$!; \
	{ prove --exec '' -j2 $(PROVE_FLAGS) $(HOST_PAR) $(UNIT_BIN) 2>&1 || \
		touch $(BUILD)/check-host.failed; } | tee $(BUILD)/check-host.log; \
	{ prove --exec '' $(PROVE_FLAGS) $(HOST_TIMED) 2>&1 || \
		touch $(BUILD)/check-host-timed.failed; } | tee $(BUILD)/check-host-timed.log; \
	rc=0; \
	prove --exec '' -j2 $(PROVE_FLAGS) $(VM_REST) || rc=1; \
	wait $$long; \
	echo "---- $(VM_LONG), run alongside the host tests ($(BUILD)/check-vm-long.log):"; \
	cat $(BUILD)/check-vm-long.log; \
	! ls $(BUILD)/check-*.failed >/dev/null 2>&1 || rc=1; \
	for l in check-host check-host-timed; do \
		[ ! -e $(BUILD)/$$l.failed ] || tests/lib/check-failures.sh $(BUILD)/$$l.log; \
	done; \
	exit $$rc

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer, built
# apart in build-asan (the normal build is untouched), without the QEMU
# suites.  Every sanitizer report goes to $(SAN_DIR)/<tool>.<pid>, so a
# report from a process whose exit code no test looks at (the guard, a run
# a test kills) still fails the target.  SAN_DIR is under /var/tmp, mode
# 1777, one per checkout: PostgreSQL's archive_command runs the binary as
# the postgres user, who cannot write under build-asan (nor reach a
# checkout under /root), and a sanitizer that cannot open its log dies.  LeakSanitizer is on: a leak is a
# finding.  SAN_CC is clang when there is one: with gcc (12) UBSan ignores
# log_path and reports only on stderr, where a test may not look.
ASAN_BUILD := build-asan
SAN_CC ?= $(or $(shell command -v clang 2>/dev/null),$(CC))
# (-Wno-string-concatenation: clang's guess at a missing comma in the SQL
# tables, whose strings are split on purpose; gcc ignores it.)
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
       -fno-omit-frame-pointer -Wno-string-concatenation
SAN_DIR := /var/tmp/mbackup-san$(subst /,-,$(CURDIR))
SAN_ENV = MBACKUP=$(CURDIR)/$(ASAN_BUILD)/mbackup MBACKUP_SKIP_VM=1 \
	ASAN_OPTIONS=log_path=$(SAN_DIR)/asan:detect_leaks=1 \
	UBSAN_OPTIONS=log_path=$(SAN_DIR)/ubsan:print_stacktrace=1:halt_on_error=1

check-asan:
	$(MAKE) BUILD=$(ASAN_BUILD) CC="$(SAN_CC)" SAN_FLAGS="$(SAN)" all units
	rm -rf $(SAN_DIR) && mkdir -p $(SAN_DIR) && chmod 1777 $(SAN_DIR)
	$(SAN_ENV) prove --exec '' $(PROVE_FLAGS) $(UNIT_BIN:$(BUILD)/%=$(ASAN_BUILD)/%) \
		$(wildcard tests/integration/*.t); rc=$$?; \
	if [ -n "$$(ls $(SAN_DIR))" ]; then \
		echo "check-asan: sanitizer reports in $(SAN_DIR):"; \
		head -n 30 $(SAN_DIR)/*; exit 1; \
	fi; exit $$rc

# ---- fuzzing (tests/fuzz/) ----
# libFuzzer targets for the index parser, the trailer parser and the image
# reader, built with clang into build-fuzz/ (coverage + ASan + UBSan; only
# common/ and image/, what the targets reach).  `make fuzz FUZZ_SECONDS=N`
# replays every target's regression inputs (tests/fuzz/regress/<target>/),
# then fuzzes each for N seconds from its seeds (tests/fuzz/corpus/<target>/,
# read only) and the corpus it grows in build-fuzz/corpus/<target>/; a
# crash is saved as build-fuzz/crash/<target>-crash-<sha1> and fails the
# target (copy it into tests/fuzz/regress/<target>/ once fixed).
# tests/integration/99-fuzz.t runs the same for a short time in `make check`.
# `make fuzz-seeds` rewrites the committed seeds with tests/fuzz/mkseeds.
FUZZ_BUILD := build-fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/tests/fuzz/fuzz_%)
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(wildcard common/*.c image/*.c) plugins/media/zstd_seek.c plugins/media/zstd_walk.c)
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	    -fno-omit-frame-pointer -Wno-string-concatenation
FUZZ_RUN = -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	   -dict=tests/fuzz/$(1).dict -artifact_prefix=$(FUZZ_BUILD)/crash/$(1)-

fuzz-build:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC="$(FUZZ_CC)" SAN_FLAGS="$(FUZZ_SAN)" $(FUZZ_BIN)

$(FUZZ_BUILD)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/mem_input.h $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(FUZZ_LIB_OBJ) $(LDLIBS) $(MB_LDLIBS)

fuzz: fuzz-build
	@mkdir -p $(FUZZ_BUILD)/crash
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
		if [ -n "$$(ls tests/fuzz/regress/$$t 2>/dev/null)" ]; then \
			$(FUZZ_BUILD)/tests/fuzz/fuzz_$$t $(call FUZZ_RUN,$$t) tests/fuzz/regress/$$t/*; \
		fi; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		$(FUZZ_BUILD)/tests/fuzz/fuzz_$$t $(call FUZZ_RUN,$$t) -max_total_time=$(FUZZ_SECONDS) \
			$(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t; \
	done

$(BUILD)/tests/fuzz/mkseeds: tests/fuzz/mkseeds.c $(BUILD)/libmbackup.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmbackup.a $(LDLIBS) $(MB_LDLIBS)

fuzz-seeds: $(BUILD)/tests/fuzz/mkseeds
	rm -rf tests/fuzz/corpus
	$(BUILD)/tests/fuzz/mkseeds tests/fuzz/corpus

# The man pages and the bash completion, generated from the option table
# (doc/mkman.c, doc/mkcompletion.c) so they cannot drift from the parser.
VERSION := $(shell sed -n 's/^\#define MBACKUP_VERSION "\(.*\)"/\1/p' orchestrator/main.c)
DOCS := $(BUILD)/man/mbackup.8 $(BUILD)/man/mbackup.conf.5 $(BUILD)/completion/mbackup

all: $(DOCS)
docs: $(DOCS)

$(BUILD)/mkman $(BUILD)/mkcompletion: $(BUILD)/%: doc/%.c $(BUILD)/libmbackup.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmbackup.a $(LDLIBS) $(MB_LDLIBS)

$(BUILD)/man/%: doc/%.in $(BUILD)/mkman
	@mkdir -p $(dir $@)
	$(BUILD)/mkman $< $(VERSION) >$@.tmp && mv $@.tmp $@

$(BUILD)/completion/mbackup: $(BUILD)/mkcompletion
	@mkdir -p $(dir $@)
	$(BUILD)/mkcompletion >$@.tmp && mv $@.tmp $@

bench: all
	bench/run

# block increments against fulls (PostgreSQL, pgbench; BENCH_SCALE, BENCH_FRACTIONS)
bench-incr: all
	bench/incr

# --compress zstd: ratio and rate by level and threads against zstd -T2 and
# pg_basebackup's client-zstd in the same run (bench/compress).
bench-compress: all
	bench/compress

# wal-push per segment against cp + sync, and the archive under pgbench -c 4
bench-wal: all
	bench/wal-push

# pg_ctl start to promoted for a copy replaying N segments: wal-get against cp
bench-pitr: all
	bench/pitr

# mbackup against pg_basebackup, pgBackRest and tar on one pgbench cluster,
# same run (BENCH_SCALE, BENCH_REPS, BENCH_LOAD_S); never part of check.
bench-compare: all
	bench/compare

# The window and peak RSS against the number of files (BENCH_FILES).
bench-files: all
	bench/files

# The window's parts against the number of files on LVM raid1 in the test VM
# (BENCH_FILES, BENCH_RUNS, BENCH_BEFORE); never part of check.
bench-files-vm: all
	bench/files-vm

# the s3:// media against curl -T / GET on a local Ceph (BENCH_MB, BENCH_REPS)
bench-s3: all
	bench/s3

# pgbench TPS while the split leg, a classic and a thin snapshot (discard-
# behind on and off) are streamed, against no backup, in the guest (BENCH_SCALE, BENCH_RATE)
bench-snapshot: all
	bench/snapshot

# The README's demo: a loop-mirror fixture, a backup under a writer, restore.
demo: all
	demo/demo

install: all
	install -D -m 0755 $(BUILD)/mbackup $(DESTDIR)$(PREFIX)/sbin/mbackup
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/lib/systemd/system \
		deploy/mbackup.service deploy/mbackup.timer deploy/mbackup-recover.service
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/doc/mbackup \
		README.md deploy/mbackup.conf.example image/FORMAT.md
	install -D -m 0644 $(BUILD)/man/mbackup.8 $(DESTDIR)$(PREFIX)/share/man/man8/mbackup.8
	install -D -m 0644 $(BUILD)/man/mbackup.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/mbackup.conf.5
	install -D -m 0644 $(BUILD)/completion/mbackup \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/mbackup

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

.PHONY: all units check check-asan fuzz fuzz-build fuzz-seeds bench bench-incr bench-compress bench-wal bench-pitr bench-compare bench-files bench-files-vm bench-snapshot demo install clean docs
-include $(LIB_OBJ:.o=.d) $(BUILD)/orchestrator/main.d

# The finish phase in the guest: the full check scrub after the merge
# (--mirror-proof full) against the default proof, same boot (BENCH_REPS); never part of check.
.PHONY: bench-merge
bench-merge: all
	bench/merge

# refusing a compressed image cut short (its frames walked) against a
# whole restore, cold (bench/restore-cut; BENCH_BEFORE, BENCH_REPS)
bench-restore-cut: all
	bench/restore-cut
.PHONY: bench-restore-cut

# libpq is loaded on first use (plugins/quiesce/postgres/pg_lib.c), not
# linked; the postgres unit test is a libpq client of its own as well.
$(BUILD)/tests/unit/test_postgres.t: MB_LDLIBS += -lpq

# The stream's CPU per GiB of a --db none full (callgrind, strace -c, user+sys)
# against BENCH_BEFORE, tar and pg_basebackup, same run; never part of check.
.PHONY: bench-stream-cpu
bench-stream-cpu: all
	bench/stream-cpu
