# evmon - energy and capacity monitoring agent.
#   make            build build/evmon
#   make demo       install what is missing, start a simulated fleet + mosquitto + influxd, run the agent
#   make check      install what is missing and run every test (unit, sanitizers, valgrind, integration)
#   make unit       cmocka unit tests only          make asan   unit tests under ASan+UBSan
#   make valgrind   unit tests under valgrind       make integration  tests against real servers

CC      ?= cc
O       ?= build
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)
PREFIX  ?= /usr

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -DEVMON_VERSION='"$(VERSION)"' \
           -DEVMON_SRC_PROFILES='"$(CURDIR)/config/profiles"' -I. -MMD -MP
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

LIBS    := -lnetsnmp -lpaho-mqtt3as -lyaml -lcurl -lz -lm -lpthread
TESTLIBS := -lcmocka

SRC     := $(wildcard agent/*.c agent/outputs/*.c collectors/*.c)
LIBSRC  := $(filter-out agent/main.c,$(SRC))
LIBOBJ  := $(LIBSRC:%.c=$(O)/obj/%.o)
UNITSRC := $(wildcard tests/unit/test_*.c)
UNITBIN := $(UNITSRC:tests/unit/%.c=$(O)/tests/%)
TOOLSRC := $(wildcard tests/tools/*.c)
TOOLBIN := $(TOOLSRC:tests/tools/%.c=$(O)/tools/%)

.PHONY: all deps demo check unit asan valgrind integration bench clean install
all: $(O)/evmon $(TOOLBIN)

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/libevmon.a: $(LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/evmon: $(O)/obj/agent/main.o $(O)/libevmon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(O)/tests/%: tests/unit/%.c $(O)/libevmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libevmon.a $(LIBS) $(TESTLIBS)

$(O)/tools/%: tests/tools/%.c $(O)/libevmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libevmon.a $(LIBS)

deps:
	@scripts/deps.sh

unit: $(UNITBIN)
	@tests/unit/run.sh $(UNITBIN)

asan:
	$(MAKE) O=$(O)/asan SAN=1 unit

valgrind: $(UNITBIN)
	@tests/unit/run.sh --valgrind $(UNITBIN)

integration: all
	@EVMON=$(O)/evmon tests/integration/run.sh

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) asan
	$(MAKE) valgrind
	$(MAKE) integration

demo: deps
	$(MAKE) all
	@scripts/demo.sh

install: all
	install -Dm755 $(O)/evmon $(DESTDIR)$(PREFIX)/bin/evmon
	install -d $(DESTDIR)$(PREFIX)/share/evmon/profiles
	install -m644 config/profiles/*.yaml $(DESTDIR)$(PREFIX)/share/evmon/profiles/

clean:
	rm -rf build

-include $(shell find $(O)/obj $(O)/tests -name '*.d' 2>/dev/null)
