# evmon - energy and capacity monitoring agent.
#   make            build build/evmon
#   make demo       install what is missing, start a simulated fleet + mosquitto + influxd, run the agent
#   make check      install what is missing and run every test (unit, sanitizers, valgrind, integration)
#   make unit       cmocka unit tests only          make asan   unit tests under ASan+UBSan
#   make valgrind   unit tests under valgrind       make integration  tests against real servers
#   make bench      10,000 simulated PDUs polled by evmon, collectd and snmp_exporter; 2,000 Modbus meters
#                   polled by evmon (docs/PERFORMANCE.md)

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
# libFuzzer targets (tests/fuzz/, make fuzz): clang, the library instrumented for coverage
ifeq ($(FUZZ),1)
CFLAGS  += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
FUZZ_SECONDS ?= 60

LIBS    := -lnetsnmp -lpaho-mqtt3as -lyaml -lcurl -lz -lm -lpthread -lsystemd -ljson-c -lmicrohttpd
TESTLIBS := -lcmocka
LIBS    += -lmodbus   # Modbus RTU serial lines (collectors/modbus_rtu.c)

SRC     := $(wildcard agent/*.c agent/outputs/*.c agent/energy/*.c collectors/*.c)
LIBSRC  := $(filter-out agent/main.c,$(SRC))
LIBOBJ  := $(LIBSRC:%.c=$(O)/obj/%.o)
# the built-in page (dashboards/web), embedded in the binary by scripts/embed-web.sh
WEBSRC  := $(sort $(wildcard dashboards/web/*))
LIBOBJ  += $(O)/obj/web_assets.o
UNITSRC := $(wildcard tests/unit/test_*.c)
UNITBIN := $(UNITSRC:tests/unit/%.c=$(O)/tests/%)
TOOLSRC := $(wildcard tests/tools/*.c)
TOOLBIN := $(TOOLSRC:tests/tools/%.c=$(O)/tools/%)
FUZZSRC := $(wildcard tests/fuzz/fuzz_*.c)
# the SNMP fleet simulator (tests/sim/snmpfleet.c) and the parts its unit test links;
# tests/sim/fleet.c is what it shares with the Modbus fleet simulator
SIMSNMPOBJ := $(O)/obj/tests/sim/snmp_ber.o $(O)/obj/tests/sim/snmp_mib.o $(O)/obj/tests/sim/fleet.o

.PHONY: all deps demo check unit asan valgrind integration bench clean install fuzz fuzz-build
all: $(O)/evmon $(TOOLBIN) $(O)/sim/snmpfleet

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/gen/web_assets.c: $(WEBSRC) scripts/embed-web.sh
	scripts/embed-web.sh $@ $(WEBSRC)

$(O)/obj/web_assets.o: $(O)/gen/web_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/libevmon.a: $(LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/evmon: $(O)/obj/agent/main.o $(O)/libevmon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(O)/sim/snmpfleet: $(O)/obj/tests/sim/snmpfleet.o $(SIMSNMPOBJ) $(O)/libevmon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(O)/tests/test_sim_snmp: tests/unit/test_sim_snmp.c $(SIMSNMPOBJ) $(O)/libevmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(TESTLIBS)

# the Modbus simulator (tests/sim/modbussim.c): libmodbus's server API, TCP and RTU, fault modes
all: $(O)/sim/modbussim
$(O)/sim/modbussim: $(O)/obj/tests/sim/modbussim.o $(O)/libevmon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# the Modbus TCP fleet simulator (tests/sim/modbusfleet.c) and the parts its unit test links
SIMMBOBJ := $(O)/obj/tests/sim/modbus_frame.o $(O)/obj/tests/sim/modbus_image.o $(O)/obj/tests/sim/fleet.o
all: $(O)/sim/modbusfleet
$(O)/sim/modbusfleet: $(O)/obj/tests/sim/modbusfleet.o $(SIMMBOBJ) $(O)/libevmon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(O)/tests/test_sim_modbus: tests/unit/test_sim_modbus.c $(SIMMBOBJ) $(O)/libevmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(TESTLIBS)

$(O)/tests/%: tests/unit/%.c $(O)/libevmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libevmon.a $(LIBS) $(TESTLIBS)

$(O)/fuzzers/%: tests/fuzz/%.c $(O)/libevmon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(O)/libevmon.a $(LIBS)

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

# Each libFuzzer target for FUZZ_SECONDS (60; make check runs 20), built in $(O)/fuzz.
fuzz-build: $(FUZZSRC:tests/fuzz/%.c=$(O)/fuzzers/%)
fuzz:
	$(MAKE) O=$(O)/fuzz CC=clang FUZZ=1 fuzz-build
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZSRC:tests/fuzz/%.c=$(O)/fuzz/fuzzers/%)

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) asan
	$(MAKE) valgrind
	$(MAKE) integration
	$(MAKE) fuzz FUZZ_SECONDS=20

demo: deps
	$(MAKE) all
	@scripts/demo.sh

bench: all
	@scripts/deps.sh bench
	@EVMON=$(O)/evmon SNMPFLEET=$(O)/sim/snmpfleet MODBUSFLEET=$(O)/sim/modbusfleet tests/bench/run.sh

install: all
	@DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" O="$(O)" scripts/install.sh

clean:
	rm -rf build

-include $(shell find $(O)/obj $(O)/tests -name '*.d' 2>/dev/null)
