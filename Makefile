# alicloud — development Makefile. `make demo` and `make test` are the whole set-up on a fresh
# Debian machine. (luarocks builds the module from the rockspec without this file.)

# The interpreter the specs, the demo and `all` use; each has its own build directory (below).
LUA         ?= lua5.4
SHELL       := /bin/bash
BUSTED      ?= /usr/bin/busted
# A spec run that hangs fails after this many seconds instead of holding CI (one interpreter's
# whole suite takes about 3 minutes here; ASan's about 4).
SUITE_LIMIT ?= 1200
LIMIT       := timeout -k 10 $(SUITE_LIMIT)
PYTHON      ?= python3
CC          ?= gcc
CXX         ?= g++
# The one version number: alicloud.VERSION (-DALICLOUD_VERSION here and in the rockspecs) and
# the release rockspec's and source rock's names.
VERSION     := $(shell cat VERSION)
# One core.so per interpreter, from the same sources: build/ is Lua 5.4's (and the sanitizers'),
# build-5.3/, build-5.1/ and build-luajit/ the others' (luajit2 as nginx's Lua module uses it).
LUAS        := lua5.4 lua5.3 lua5.1 luajit
BUILD_lua5.4 := build
BUILD_lua5.3 := build-5.3
BUILD_lua5.1 := build-5.1
BUILD_luajit := build-luajit
INC_build        := /usr/include/lua5.4
INC_build-asan   := /usr/include/lua5.4
INC_build-tsan   := /usr/include/lua5.4
INC_build-5.3    := /usr/include/lua5.3
INC_build-5.1    := /usr/include/lua5.1
INC_build-luajit := /usr/include/luajit-2.1
BUILD       := $(or $(BUILD_$(LUA)),$(error LUA=$(LUA): one of $(LUAS)))

CORE_SRC    := $(wildcard csrc/core/*.c)
BIND_SRC    := $(wildcard csrc/lua/*.c)
SRC         := $(CORE_SRC) $(BIND_SRC)
HDR         := $(wildcard csrc/core/*.h csrc/lua/*.h)
# The one C++ file: the JSON parser, because simdjson is C++ (C linkage at its edge).
JSON_SRC    := csrc/core/json.cc

WARN        := -std=c11 -Wall -Wextra -Werror -pedantic -Wshadow -Wstrict-prototypes
CXXWARN     := -std=c++17 -Wall -Wextra -Werror -Wshadow -fno-exceptions -fno-rtti
DEFS        := -D_GNU_SOURCE -DALICLOUD_VERSION='"$(VERSION)"'
INCS         = -Icsrc/core -Icsrc/lua -I$(INC_$*)
LIBS        := -lcurl -lssl -lcrypto -lsimdjson -lstdc++ -lpthread -lm
OPT         ?= -O2 -g

# Debian packages: what `make deps` installs when missing.
DEB_PKGS    := gcc g++ make pkg-config lua5.4 liblua5.4-dev lua5.3 liblua5.3-dev lua5.1 liblua5.1-0-dev \
               luajit2 libluajit2-5.1-dev libcurl4-openssl-dev libssl-dev \
               libsimdjson-dev lua-cjson lua-busted lua-check lua-socket lua-luv lua-cqueues lua-copas \
               nginx libnginx-mod-http-lua lua-resty-core python3 valgrind luarocks

# Specs run against the build tree, never an installed copy.
# Every interpreter's path variables, so that the child processes some specs start (with
# ALICLOUD_LUA, the same interpreter) find the same tree.
SPEC_PATH    = './lua/?.lua;./lua/?/init.lua;./?.lua;;'
SPEC_ENV     = LUA_PATH=$(SPEC_PATH) LUA_PATH_5_3=$(SPEC_PATH) LUA_PATH_5_4=$(SPEC_PATH) \
               LUA_CPATH='./$(1)/?.so;;' LUA_CPATH_5_3='./$(1)/?.so;;' LUA_CPATH_5_4='./$(1)/?.so;;' \
               ALICLOUD_LUA=$(2) ALIBABA_CLOUD_ECS_METADATA_DISABLED=true
SPECS       ?= spec
CORE_SPECS  := spec/async_spec.lua spec/promise_spec.lua

.PHONY: all deps test test-all test-one lint demo asan tsan valgrind fuzz bench catalogue rockspec rock clean
.PHONY: check help dist dist-check

all: $(BUILD)/alicloud/core.so

# Test support: fork() for the fork-safety spec, next to each build's core.so.
%/spec_fork.so: spec/support/fork.c csrc/lua/lua_compat.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_GNU_SOURCE -O1 -g -fPIC -shared -Icsrc/lua -I$(INC_$*) -o $@ $<

ASAN_FLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
TSAN_FLAGS  := -O1 -g -fsanitize=thread

# One build per directory, the same sources with that build's flags.
FLAGS_build      = $(OPT)
FLAGS_build-asan = $(ASAN_FLAGS)
FLAGS_build-tsan = $(TSAN_FLAGS)
FLAGS_build-5.3  = $(OPT)
FLAGS_build-5.1  = $(OPT)
FLAGS_build-luajit = $(OPT)

%/alicloud/core.so: $(SRC) $(HDR) %/json.o Makefile
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) $(FLAGS_$*) -fPIC -shared $(INCS) -o $@ $(SRC) $*/json.o $(LIBS)

%/json.o: $(JSON_SRC) csrc/core/json.h Makefile
	@command -v $(CXX) >/dev/null 2>&1 || { echo "alicloud needs a C++ compiler ($(CXX)) for" \
	  "$(JSON_SRC): simdjson, the JSON parser, is a C++ library. On Debian: apt-get install g++"; exit 1; }
	@mkdir -p $(dir $@)
	$(CXX) $(CXXWARN) $(FLAGS_$*) -fPIC -Icsrc/core -c -o $@ $<
.PRECIOUS: %/json.o

deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else \
	  echo "missing Debian packages; run:"; \
	  echo "  sudo apt-get update && sudo apt-get install -y $$missing"; exit 1; \
	fi

# luacheck's std (see .luacheckrc) catches 5.3+ library calls; luac5.1 catches 5.3+ syntax.
lint:
	luacheck -q lua spec examples bench tools bin/alicloud
	@for f in $$(find lua spec examples -name '*.lua') bin/alicloud; do luac5.1 -p "$$f" || exit 1; done

# spec/nginx_spec.lua starts nginx, whose Lua module loads the LuaJIT build, whatever LUA is.
NGINX_SO    := build-luajit/alicloud/core.so

# Spec files that do not run on an interpreter, and why: each run prints them as NOT RUN.
SKIP_lua5.3  := spec/soak_spec.lua
SKIP_lua5.1  := spec/soak_spec.lua
SKIP_luajit  := spec/soak_spec.lua
SKIP_WHY     := the soak spec (20,000 calls, minutes) runs on Lua 5.4 only: its time and memory \
                bounds are 5.4's and its subject, the C core, is the same build for every Lua
RUN_SPECS    = $(if $(SKIP_$(LUA)),$(filter-out $(SKIP_$(LUA)),$(if $(filter spec,$(SPECS)),$(sort \
               $(wildcard spec/*_spec.lua)),$(SPECS))),$(SPECS))

test: deps all $(BUILD)/spec_fork.so lint test-one

# The whole suite on every interpreter, each against its own build; lint once. The summary
# gives each interpreter's counts.
test-all: deps lint
	@log=$$(mktemp); trap 'rm -f "$$log"' EXIT; for lua in $(LUAS); do \
	  echo "=== $$lua"; \
	  $(MAKE) --no-print-directory test-one LUA=$$lua 2>&1 | tee -a "$$log"; \
	  [ "$${PIPESTATUS[0]}" = 0 ] || exit 1; \
	done; echo "=== summary"; grep -E "^(NOT RUN|[0-9]+ successes|(lua5\.[0-9]|luajit):$$)" "$$log"

test-one: $(BUILD)/alicloud/core.so $(BUILD)/spec_fork.so $(NGINX_SO)
	@$(if $(filter-out $(RUN_SPECS),$(filter $(SKIP_$(LUA)),$(SPECS) $(if $(filter spec,$(SPECS)),$(wildcard \
	  spec/*_spec.lua)))),echo "NOT RUN on $(LUA): $(SKIP_$(LUA)): $(SKIP_WHY)")
	@echo "$(LUA):"
	$(call SPEC_ENV,$(BUILD),$(LUA)) $(LIMIT) $(LUA) $(BUSTED) $(RUN_SPECS)

# The inner loop: what `make test` does but the soak, and nothing installed.
CHECK_SPECS := $(filter-out spec/soak_spec.lua,$(wildcard spec/*_spec.lua))

check: all $(BUILD)/spec_fork.so lint
	$(call SPEC_ENV,$(BUILD),$(LUA)) $(LIMIT) $(LUA) $(BUSTED) $(CHECK_SPECS)

demo: deps all
	ALICLOUD_FAKE=1 $(LUA) examples/quickstart.lua
	ALICLOUD_FAKE=1 $(LUA) examples/fanout.lua 1000 16
	ALICLOUD_FAKE=1 $(LUA) examples/roa_cs.lua
	ALICLOUD_FAKE=1 $(LUA) examples/v3.lua
	ALICLOUD_FAKE=1 $(LUA) examples/coroutines.lua
	ALICLOUD_FAKE=1 $(LUA) examples/credentials.lua
	ALICLOUD_FAKE=1 $(LUA) examples/parameters.lua
	ALICLOUD_FAKE=1 $(LUA) examples/cli.lua
	ALICLOUD_FAKE=1 $(LUA) examples/paging.lua

# The sanitizer and valgrind runs use Lua 5.4 only.
# ASan cannot carry fork() from a threaded process whose child starts threads (its thread
# registry may be held at fork time): the fork spec runs in `make test` and `make valgrind`.
ASAN_SPECS  := $(filter-out spec/process_spec.lua,$(wildcard spec/*_spec.lua))

asan: deps build-asan/alicloud/core.so build-asan/spec_fork.so $(NGINX_SO)
	$(call SPEC_ENV,build-asan,lua5.4) $(LIMIT) env LD_PRELOAD="$$($(CC) -print-file-name=libasan.so)" \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  lua5.4 $(BUSTED) $(ASAN_SPECS)

# Shells crash under a preloaded TSan runtime, so the fake cloud starts outside the run and
# only the specs that spawn no process run here: the async core.
tsan: deps build-tsan/alicloud/core.so build-tsan/spec_fork.so
	$(call SPEC_ENV,build-tsan,lua5.4) $(LIMIT) spec/support/with_fake.sh env \
	  LD_PRELOAD="$$($(CC) -print-file-name=libtsan.so)" \
	  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/spec/support/tsan.supp" \
	  lua5.4 $(BUSTED) $(CORE_SPECS)

valgrind: deps build/alicloud/core.so build/spec_fork.so $(NGINX_SO)
	$(call SPEC_ENV,build,lua5.4) ALICLOUD_VALGRIND_CHILD=1 valgrind --error-exitcode=99 --leak-check=full \
	  --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
	  --suppressions=spec/support/valgrind.supp --trace-children=no \
	  lua5.4 $(BUSTED) $(SPECS)

# libFuzzer targets (clang) on the C core's parsers and canonicalizers, each for a bounded
# time; crashes land in build-fuzz/ and become regression specs.
FUZZ_TARGETS := encode sign response json
FUZZ_SECONDS ?= 30
FUZZ_CC      ?= clang
FUZZ_CXX     ?= clang++
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined
CORE_NO_NET  := $(filter-out csrc/core/http.c csrc/core/exec.c csrc/core/pool.c csrc/core/notify.c,$(CORE_SRC))

build-fuzz/json.o: $(JSON_SRC) csrc/core/json.h
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(CXXWARN) $(FUZZ_FLAGS) -Icsrc/core -c -o $@ $<

build-fuzz/fuzz_%: fuzz/fuzz_%.c $(CORE_NO_NET) $(HDR) build-fuzz/json.o
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE $(FUZZ_FLAGS) \
	  -Icsrc/core -o $@ $< $(CORE_NO_NET) build-fuzz/json.o -lcrypto -lsimdjson -lstdc++ -lpthread -lm

fuzz: $(addprefix build-fuzz/fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus-$$t; \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
	    -artifact_prefix=build-fuzz/crash-$$t- build-fuzz/corpus-$$t fuzz/corpus/$$t \
	    2>build-fuzz/fuzz_$$t.log || { tail -40 build-fuzz/fuzz_$$t.log; exit 1; }; \
	  grep -h "stat::number_of_executed_units\|Done" build-fuzz/fuzz_$$t.log | tail -1; \
	done

bench: all
	bench/run

catalogue:
	$(PYTHON) tools/gen_catalogue.py data/catalogue.json

rockspec:
	$(LUA) tools/gen_rockspec.lua

# Builds and installs with luarocks into a throwaway tree for each Lua version (from a copy of
# the sources: luarocks compiles next to them), then loads the installed module; the 5.1
# build is loaded by LuaJIT as well, as OpenResty would load it.
ROCK_LUAS   ?= 5.4 5.3 5.1
ROCK_CHECK  := local a = require("alicloud"); local core = package.loaded["alicloud.core"]; \
               assert(core.version == a.VERSION); io.write("alicloud ", a.VERSION, " on ", \
               jit and jit.version or _VERSION, ": ok\n")

rock: deps
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	for v in $(ROCK_LUAS); do \
	  mkdir -p "$$tmp/src-$$v" && cp -r rockspec csrc lua bin "$$tmp/src-$$v/" && \
	  (cd "$$tmp/src-$$v" && luarocks --lua-version=$$v --tree="$$tmp/tree-$$v" make \
	    --deps-mode=none rockspec/alicloud-scm-1.rockspec >"$$tmp/log-$$v" 2>&1) || \
	    { cat "$$tmp/log-$$v"; echo "luarocks build for Lua $$v failed"; exit 1; }; \
	  lp="$$tmp/tree-$$v/share/lua/$$v/?.lua;$$tmp/tree-$$v/share/lua/$$v/?/init.lua;;"; \
	  cp="$$tmp/tree-$$v/lib/lua/$$v/?.so;;"; \
	  for lua in lua$$v $$([ $$v = 5.1 ] && echo luajit); do \
	    (cd "$$tmp" && env -u LUA_PATH -u LUA_CPATH LUA_PATH="$$lp" LUA_CPATH="$$cp" \
	      LUA_PATH_$${v/./_}="$$lp" LUA_CPATH_$${v/./_}="$$cp" $$lua -e \
	      'assert(package.cpath:find("'"$$tmp"'", 1, true)); $(ROCK_CHECK)') || exit 1; \
	  done; \
	done

# A new VERSION rebuilds the module that reports it (the pattern rule above has the recipe).
build/alicloud/core.so build-asan/alicloud/core.so build-tsan/alicloud/core.so: VERSION

# alicloud-$(VERSION)-1.src.rock from the release rockspec and a tarball of the checkout.
dist: rockspec
	tools/dist.sh

# luarocks installs that source rock offline into a fresh tree; the installed module must
# load, report $(VERSION) and call the fake cloud.
dist-check: dist
	tools/dist_check.sh

clean:
	rm -rf build build-5.3 build-5.1 build-luajit build-asan build-tsan build-fuzz
	rm -f alicloud-*.src.rock

help:
	@echo "make              build build/alicloud/core.so (C11, -Werror; json.cc needs g++)"
	@echo "make demo         install what is missing, run the examples on the local fake cloud"
	@echo "make test         install what is missing, build, lint, the whole spec suite"
	@echo "make test-all     the whole suite on Lua 5.4, 5.3, 5.1 and LuaJIT (what CI runs)"
	@echo "make test-one     the suite on LUA=lua5.4|lua5.3|lua5.1|luajit, without deps or lint"
	@echo "make check        build, lint, every spec but the soak; installs nothing"
	@echo "make lint         luacheck lua/ spec/ examples/ bench/"
	@echo "make deps         apt-get install the Debian packages that are missing"
	@echo "make asan         the spec suite under AddressSanitizer + UBSan, leaks included"
	@echo "make tsan         the async core specs under ThreadSanitizer"
	@echo "make valgrind     the spec suite under valgrind memcheck"
	@echo "make fuzz         libFuzzer on the core's parsers, FUZZ_SECONDS (30) each"
	@echo "make bench        the benchmark suite (docs/PERFORMANCE.md)"
	@echo "make catalogue    regenerate lua/alicloud/catalogue/ from data/catalogue.json"
	@echo "make rockspec     regenerate rockspec/ (scm and $(VERSION)) from the tree and VERSION"
	@echo "make rock         luarocks make for 5.4, 5.3 and 5.1 into throwaway trees, load each"
	@echo "make dist         write alicloud-$(VERSION)-1.src.rock (source rock, offline)"
	@echo "make dist-check   make dist, install the rock offline into a fresh tree, use it"
	@echo "make clean        remove the build directories and source rocks"
	@echo "make help         this list"
