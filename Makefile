# impactchat - the two commands a newcomer needs are `make run` and `make test`.
# Both install missing Debian packages first (scripts/install-deps.sh).

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
IC_WERROR  ?= OFF
JOBS       ?= $(shell nproc)
CMAKE_FLAGS = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIC_WERROR=$(IC_WERROR)

.PHONY: all deps build build-asan build-fuzz run test test-unit test-pg test-asan test-fuzz \
        check-banned check-format format bench clean web-deps test-browser

all: build

deps:
	@scripts/install-deps.sh

# The web app's npm packages, pinned by package-lock.json: esbuild bundles
# web/src/ at build time; playwright-core drives the browser tests (it never
# downloads a browser: they use Debian's chromium). Reinstalled only when the
# lock file changes.
web-deps: deps node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	@PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

build: deps web-deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

build-asan: deps web-deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DIC_SANITIZE=ON -DIC_WERROR=$(IC_WERROR) >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

build-fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DIC_FUZZ=ON -DIC_SANITIZE=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_webhook

# Starts impactchat on SQLite with the WhatsApp simulator (Ctrl-C stops both).
run: build
	@scripts/run-sandbox.sh

# The whole suite: static checks, unit + conformance + end-to-end tests on the
# normal build, the unit and end-to-end tests again on PostgreSQL (test-pg),
# all again under ASan+UBSan (but the three-node test, which needs the
# machine's CPU for its timing), then a short fuzzing run.
test: check-banned check-format build build-asan test-unit test-pg test-asan test-fuzz test-browser
	@echo "make test: all passed"

test-unit: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The unit and end-to-end tests again on PostgreSQL: a throwaway server
# (initdb + pg_ctl on a free loopback port) for the run, a fresh database per
# unit test and per e2e Sandbox, removed after. e2e/test_wa_sim is left out:
# it runs wa-sim alone and touches no database.
PG_TEST_DIR ?= $(CURDIR)/$(BUILD)/pg-test
test-pg: build
	@set -e; trap '$(CURDIR)/scripts/pg-test-server.sh stop "$(PG_TEST_DIR)"' EXIT; \
	  url=$$($(CURDIR)/scripts/pg-test-server.sh start "$(PG_TEST_DIR)"); \
	  cd $(BUILD) && IC_TEST_PG_URL="$$url" ctest --output-on-failure -j$(JOBS) \
	    -R '^(unit|e2e)/' -E '^e2e/(test_wa_sim|test_pg_restart|test_multinode)$$'

test-asan: build-asan
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j$(JOBS) -E '^(bench|e2e/test_multinode$$)'

test-fuzz: build-fuzz
	@scripts/fuzz-short.sh $(FUZZ_BUILD)

# The web app in Debian's Chromium (headless) against a real impactchat and
# wa-sim on loopback; screenshots of each step go to $(BUILD)/screenshots.
test-browser: build
	@scripts/install-deps.sh --browser
	@mkdir -p $(BUILD)/screenshots
	@IC_BIN_DIR=$(CURDIR)/$(BUILD) IC_TEST_TMP=$(CURDIR)/$(BUILD)/tmp IC_SCREENSHOTS=$(CURDIR)/$(BUILD)/screenshots \
	  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 node --test tests/browser/*.test.mjs

check-banned:
	@scripts/check-banned.sh

check-format:
	@scripts/check-format.sh

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

bench: build
	@bench/run-all.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
