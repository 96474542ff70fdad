# ExoFlow: the two commands a newcomer needs are `make demo` and `make test`.
# Both install what is missing (scripts/setup), build, and run.

BUILD       ?= build
ASAN_BUILD  ?= build-asan
FUZZ_BUILD  ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS        ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup build test unit-test asan-test fuzz-test check demo bench format clean

all: build

setup:
	@scripts/setup

$(BUILD)/build.ninja: CMakeLists.txt
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: setup $(BUILD)/build.ninja
	@ninja -C $(BUILD) -j $(JOBS)

# Everything CI runs: style, the tests, the tests again under ASan+UBSan, a short fuzz run.
test: setup
	@echo "== style (tools/check.sh)"
	@tools/check.sh
	@$(MAKE) --no-print-directory unit-test asan-test fuzz-test
	@echo "== all tests passed"

unit-test: build
	@echo "== tests"
	@cd $(BUILD) && ctest --no-tests=error --output-on-failure -j $(JOBS)

asan-test: setup
	@echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEXOFLOW_SANITIZE=ON \
	  -DEXOFLOW_BENCH=OFF >/dev/null
	@ninja -C $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && EXOFLOW_SKIP_5GIB_TEST=1 EXOFLOW_SANITIZED=1 \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --no-tests=error --output-on-failure -j $(JOBS)

fuzz-test: setup
	@echo "== fuzzing the manifest parser for $(FUZZ_SECONDS)s (libFuzzer, clang 14)"
	@CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DEXOFLOW_FUZZ=ON -DEXOFLOW_TESTS=OFF -DEXOFLOW_BENCH=OFF \
	  -DFUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	@ninja -C $(FUZZ_BUILD) -j $(JOBS) manifest_fuzz
	@cd $(FUZZ_BUILD) && ctest --no-tests=error --output-on-failure

check: setup $(BUILD)/build.ninja
	@tools/check.sh

format:
	@tools/check.sh --fix

# The local tour: build, write a starter manifest, validate it and the example, show errors.
demo: build
	@scripts/demo $(BUILD)

bench: build
	@$(BUILD)/bench/bench_manifest --benchmark_min_time=0.5
	@$(BUILD)/bench/bench_synth --benchmark_min_time=0.5
	@$(BUILD)/bench/bench_proxy $(BENCH_PROXY_ARGS)
	@$(BUILD)/bench/bench_sqs
	@$(BUILD)/bench/bench_azure
	@$(BUILD)/bench/bench_failover

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
