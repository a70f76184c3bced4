# mtgan - plain Makefile. Sources are discovered by directory:
#   src/<module>/*.c        -> out/libmtgan.a
#   src/cmd/mtgan*.c        -> one binary each (out/bin/<name>); src/cmd/cmd_*.c link into `mtgan`
#   tests/unit/test_*.c     -> one criterion binary each (out/test/unit/<name>)
#   tests/integration/*.c   -> same, run after the binaries are built
#   tests/support/*.c       -> helpers linked into every test binary
# `make SAN=1 ...` builds everything under out-san/ with ASan+UBSan.

CC      ?= gcc
SAN     ?= 0
OUT     ?= $(if $(filter 1,$(SAN)),out-san,out)

# pkg-config name -> Debian package that provides it (used for the error message).
DEP_PKGS  := libcurl:libcurl4-openssl-dev libcjson:libcjson-dev openblas:libopenblas-dev \
             libmicrohttpd:libmicrohttpd-dev zlib:zlib1g-dev libpng:libpng-dev lapacke:liblapacke-dev \
             libcrypto:libssl-dev
TEST_PKGS := criterion:libcriterion-dev

define check_pkg
$(if $(shell pkg-config --exists $(word 1,$(subst :, ,$(1))) && echo ok),,\
  $(error missing dependency '$(word 1,$(subst :, ,$(1)))': install the Debian package '$(word 2,$(subst :, ,$(1)))' (or run build/deps.sh)))
endef

ifeq ($(shell command -v pkg-config),)
  ifeq ($(filter clean deps demo,$(MAKECMDGOALS)),)
    $(error missing 'pkg-config': install the Debian package 'pkg-config' (or run build/deps.sh))
  endif
endif

# `demo` and `deps` install dependencies themselves, `clean` needs none.
NEEDS_DEPS := $(filter-out clean deps demo,$(or $(MAKECMDGOALS),all))
ifneq ($(NEEDS_DEPS),)
  $(foreach p,$(DEP_PKGS),$(call check_pkg,$(p)))
  ifneq ($(filter test sanitize check unit integration valgrind,$(MAKECMDGOALS)),)
    $(foreach p,$(TEST_PKGS),$(call check_pkg,$(p)))
  endif
endif

PKG_NAMES := libcurl libcjson openblas libmicrohttpd zlib libpng lapacke libcrypto
PKG_CFLAGS = $(shell pkg-config --cflags $(PKG_NAMES) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKG_NAMES) 2>/dev/null)
CRIT_LIBS  = $(shell pkg-config --libs criterion 2>/dev/null)

WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
# -fno-math-errno lets sqrtf/expf loops vectorise; mtgan never reads errno after math calls.
OPTFLAGS ?= -O3 -g -fno-math-errno
ALL_CFLAGS = $(OPTFLAGS) $(CFLAGS) -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(WARN) -Isrc -Itests/support \
           -fno-omit-frame-pointer -pthread -MMD -MP $(PKG_CFLAGS)
LDLIBS  := $(PKG_LIBS) -lm -pthread
ifeq ($(SAN),1)
  ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
endif

MODULES   ?= core wire data quality sched proto server edge sedna config launch k8s
LIB_SRC   := $(foreach m,$(MODULES),$(wildcard src/$(m)/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(OUT)/obj/%.o)
LIB       := $(OUT)/libmtgan.a

CMD_SRC   := $(wildcard src/cmd/cmd_*.c)
CMD_OBJ   := $(CMD_SRC:%.c=$(OUT)/obj/%.o)
BIN_SRC   := $(filter-out $(CMD_SRC),$(wildcard src/cmd/*.c))
BINS      := $(BIN_SRC:src/cmd/%.c=$(OUT)/bin/%)

SUP_SRC   := $(wildcard tests/support/*.c)
SUP_OBJ   := $(SUP_SRC:%.c=$(OUT)/obj/%.o)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(OUT)/test/unit/%)
INT_SRC   := $(wildcard tests/integration/test_*.c)
INT_BINS  := $(INT_SRC:tests/integration/%.c=$(OUT)/test/integration/%)

# Criterion runs tests of one binary in parallel; integration tests start
# processes, so they get fewer jobs.
CRIT_JOBS ?= 2
TEST_ENV  := MTGAN_BIN_DIR=$(abspath $(OUT)/bin) MTGAN_DATA_DIR=$(abspath data) \
             MTGAN_IT_TIME_SCALE=$(if $(filter 1,$(SAN)),3,1) \
             MTGAN_SRC_DIR=$(abspath .) OPENBLAS_NUM_THREADS=1 \
             ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all test unit integration demo bench sanitize clean deps fuzz valgrind
.DEFAULT_GOAL := all

all: $(BINS)

$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

# The dashboard's files are linked in by .incbin (src/server/dashboard_assets.c): an edit rebuilds it.
DASH_FILES := $(wildcard src/server/dashboard/*)
$(OUT)/obj/src/server/dashboard_assets.o: $(DASH_FILES)

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(OUT)/bin/mtgan: $(OUT)/obj/src/cmd/mtgan.o $(CMD_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OUT)/bin/%: $(OUT)/obj/src/cmd/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OUT)/test/%: $(OUT)/obj/tests/%.o $(SUP_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CRIT_LIBS) $(LDLIBS)

# Every suite runs even after one fails, so one red run shows every failure; the
# target fails at the end, naming the suites that failed.
define run_suites
	@failed=""; for t in $(1); do echo "== $$t"; \
	  $(TEST_ENV) $$t --jobs=$(2) --short-filename || failed="$$failed $$(basename $$t)"; done; \
	if [ -n "$$failed" ]; then echo "FAILED suites:$$failed"; exit 1; fi
endef

unit: $(UNIT_BINS)
	$(call run_suites,$(UNIT_BINS),$(CRIT_JOBS))

integration: $(BINS) $(INT_BINS)
	$(call run_suites,$(INT_BINS),1)

# -k: integration still runs when a unit suite failed.
test: $(BINS) $(UNIT_BINS) $(INT_BINS)
	@$(MAKE) --no-print-directory -k unit integration SAN=$(SAN)
	@echo "make test: all suites passed ($(words $(UNIT_BINS)) unit, $(words $(INT_BINS)) integration)"

sanitize:
	$(MAKE) SAN=1 test

deps:
	bash build/deps.sh

# demo installs missing dependencies first, so it is the one command a fresh machine needs.
demo:
	@bash build/deps.sh --if-missing
	@$(MAKE) --no-print-directory all
	$(OUT)/bin/mtgan demo $(DEMO_ARGS)

bench: all
	bash bench/run.sh $(BENCH_ARGS)

# The measurement behind the default training recipe (bench/recipe_sweep.c); not part of `all`.
$(OUT)/bin/recipe-sweep: $(OUT)/obj/bench/recipe_sweep.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

valgrind: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== valgrind $$t"; \
	  $(TEST_ENV) valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	    --trace-children=yes --quiet $$t --jobs=1 --short-filename; done

clean:
	rm -rf out out-san

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)

# ---- fuzzing (libFuzzer, clang only; docs/reliability.md) -------------------
# `make fuzz FUZZ_SECONDS=N` builds the library with coverage + ASan/UBSan into
# out-fuzz/, links fuzz/fuzz_*.c against it and runs each harness N seconds on
# a scratch copy of its seed corpus (fuzz/corpus/<harness>/). FUZZ_TARGETS
# picks harnesses ("fuzz_blob fuzz_json"), FUZZ_PARALLEL runs that many at once.
FUZZ_CC       ?= clang
FUZZ_OUT      ?= out-fuzz
FUZZ_SECONDS  ?= 60
FUZZ_PARALLEL ?= 1
FUZZ_TARGETS  ?=
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS    = -O1 -g -fno-omit-frame-pointer -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
                 -Wall -Wextra -Isrc -pthread $(PKG_CFLAGS) $(FUZZ_SAN)
FUZZ_LIB_OBJ  := $(LIB_SRC:%.c=$(FUZZ_OUT)/obj/%.o)
FUZZ_SRC      := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS     := $(FUZZ_SRC:fuzz/%.c=$(FUZZ_OUT)/bin/%)

.PHONY: fuzz-build clean-fuzz

$(FUZZ_OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_OUT)/obj/src/server/dashboard_assets.o: $(DASH_FILES)

$(FUZZ_OUT)/libmtgan.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_OUT)/bin/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_util.h $(FUZZ_OUT)/libmtgan.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OUT)/libmtgan.a $(LDLIBS)

# Writes the generated part of the seed corpora (valid blobs, update bodies).
$(FUZZ_OUT)/bin/gen_seeds: fuzz/gen_seeds.c $(FUZZ_OUT)/libmtgan.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_OUT)/libmtgan.a $(LDLIBS)

fuzz-build: $(FUZZ_BINS) $(FUZZ_OUT)/bin/gen_seeds

fuzz: fuzz-build
	FUZZ_OUT=$(FUZZ_OUT) FUZZ_PARALLEL=$(FUZZ_PARALLEL) bash fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean-fuzz:
	rm -rf $(FUZZ_OUT)

-include $(shell find $(FUZZ_OUT)/obj -name '*.d' 2>/dev/null)
