# Rootless Router build.  Every module under src/<dir>/ (except the two programs)
# goes into one static library; each tests/unit/test_*.c is a cmocka binary
# linked against it; each tests/fuzz/fuzz_*.c is a libFuzzer harness.
# New files are picked up by wildcard: adding a module never needs a Makefile edit.

CC       ?= cc
BUILD    ?= build
PKGS     := libcrypto libsodium
CPPFLAGS += -Isrc -D_GNU_SOURCE -D_FORTIFY_SOURCE=2
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
            -Wstrict-prototypes -Wno-unused-parameter -fstack-protector-strong \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null)

LIB_DIRS := core crypto conf ip wg stack exec nl ctl
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard src/$(d)/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/librr.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

BENCH_SRCS := $(wildcard bench/bench_*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%) $(BUILD)/bench/wgload

# The LD_PRELOAD shim is its own small shared object: it must not drag the router in.
# capless.c (running file-capability binaries through ld.so) is shared with rrctl and rrouted;
# seccomp_filter.c tells the shim which programs it cannot follow (rrctl exec --mode=seccomp can).
SHIM_SRCS := $(wildcard src/shim/*.c) src/exec/capless.c src/exec/seccomp_filter.c
SHIM_OBJS := $(SHIM_SRCS:%.c=$(BUILD)/pic/%.o)
SHIM      := $(if $(SHIM_SRCS),$(BUILD)/librrshim.so)

PROGS := $(BUILD)/rrouted $(BUILD)/rrctl $(SHIM) $(BUILD)/rrctl-sudo/sudo

.PHONY: all check unit asan asan-build fuzz fuzz-build demo clean deps bench
all: $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

$(BUILD)/librrshim.so: $(SHIM_OBJS)
	$(CC) $(CFLAGS) -shared -Wl,-z,defs -o $@ $^ -ldl -lpthread

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

RROUTED_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard src/rrouted/*.c))
$(BUILD)/rrouted: $(RROUTED_OBJS) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/rrctl: $(BUILD)/src/rrctl/main.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# rrctl exec puts this directory first in PATH: sudo there is rrctl (src/rrctl/main.c).
$(BUILD)/rrctl-sudo/sudo: $(BUILD)/rrctl
	@mkdir -p $(dir $@)
	ln -sf ../rrctl $@

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: $(UNIT_BINS)

# The whole suite: unit tests (plain and sanitized), short fuzz runs, namespace tests.
# The three builds of check use every core (CI runs plain `make check`).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check:
	-scripts/install-deps --if-missing
	$(MAKE) --no-print-directory -j$(JOBS) all unit
	$(MAKE) --no-print-directory -j$(JOBS) asan-build
	$(MAKE) --no-print-directory -j$(JOBS) fuzz-build
	FUZZ_SECONDS=$${FUZZ_SECONDS:-5} tests/run-all.sh

# Same sources, separate tree, AddressSanitizer + UBSan.
asan-build:
	$(MAKE) --no-print-directory BUILD=build-asan \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  build-asan/rrouted build-asan/rrctl unit

asan: asan-build
	RR_BUILD=build-asan tests/run-all.sh unit

FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
fuzz-build:
	$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
	  CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
	  build-fuzz/librr.a
	@mkdir -p build-fuzz/fuzz
	@for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
	  echo "clang $$f -> build-fuzz/fuzz/$$n"; \
	  clang $(CPPFLAGS) -std=gnu11 $(FUZZ_CFLAGS) $(shell pkg-config --cflags $(PKGS)) \
	    -o build-fuzz/fuzz/$$n $$f build-fuzz/librr.a $(LDLIBS) || exit 1; done

fuzz: fuzz-build
	tests/run-all.sh fuzz

bench: all $(BENCH_BINS)
	bench/run-all.sh

deps:
	scripts/install-deps

demo:
	scripts/install-deps --demo --if-missing
	$(MAKE) --no-print-directory all
	scripts/demo.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
