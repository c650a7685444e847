# mbackup — plain Makefile.  `make`, `make check`, `make install`, `make bench`.
CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter -I. \
           -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -pthread -I$(shell pg_config --includedir)
LDLIBS  += -lsqlite3 -ljansson -lpq -lcrypto -pthread
PREFIX  ?= /usr/local
BUILD   := build

LIB_SRC  := $(wildcard common/*.c image/*.c extentmap/*.c plugins/*/*.c plugins/*/*/*.c) \
            $(filter-out orchestrator/main.c,$(wildcard orchestrator/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%.t)

all: $(BUILD)/mbackup

$(BUILD)/mbackup: $(BUILD)/orchestrator/main.o $(BUILD)/libmbackup.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libmbackup.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/unit/%.t: tests/unit/%.c $(BUILD)/libmbackup.a tests/lib/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libmbackup.a $(LDLIBS)

units: $(UNIT_BIN)

# The one test command: unit tests (C) then integration tests (the binary
# against real loop filesystems), all under prove.
check: all units
	prove --exec '' $(PROVE_FLAGS) $(UNIT_BIN) $(wildcard tests/integration/*.t)

bench: all
	bench/run

# The README's demo: a loop-mirror fixture, a backup under a writer, restore.
demo: all
	demo/demo

install: all
	install -D -m 0755 $(BUILD)/mbackup $(DESTDIR)$(PREFIX)/sbin/mbackup
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/lib/systemd/system \
		deploy/mbackup.service deploy/mbackup.timer deploy/mbackup-recover.service
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/doc/mbackup \
		README.md deploy/mbackup.conf.example image/FORMAT.md

clean:
	rm -rf $(BUILD)

.PHONY: all units check bench demo install clean
-include $(LIB_OBJ:.o=.d) $(BUILD)/orchestrator/main.d
