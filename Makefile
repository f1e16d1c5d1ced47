# Thin wrapper over CMake/ctest. See README.md.
JOBS ?= 2
BUILD ?= build
TEST_BUILD ?= build-test
TSAN_BUILD ?= build-tsan
CMAKE_CC ?= clang

.PHONY: all deps build test test-unit test-tsan run bench clean fmt sim-sched sim-gossip

all: build

deps:
	@./scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=$(CMAKE_CC) -DDC_BUILD_TESTS=OFF >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The whole suite: unit, integration and short fuzz runs under ASan+UBSan,
# then the API-to-loop handoff tests under ThreadSanitizer.
test: deps
	@cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	  -DDC_SANITIZE=ON -DDC_FUZZ=ON >/dev/null
	@cmake --build $(TEST_BUILD) -j$(JOBS)
	@cd $(TEST_BUILD) && ctest -LE 'bench|tsan' --output-on-failure --timeout 900
	@$(MAKE) --no-print-directory test-tsan

test-tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	  -DDC_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j$(JOBS) --target test_httpd
	@cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1 ctest -L tsan --output-on-failure

# Starts a local cloud (1 master, 3 providers) and runs the examples on it.
run: build
	@./scripts/run-demo.sh $(BUILD)/deepcloud

bench: build
	@./scripts/run-bench.sh $(BUILD)

# The scheduling simulator's tables in docs/matching.md, from every trace
# in DC_TRACES (SWF logs and Alibaba GPU pod lists).
sim-sched: build
	@test -n "$(DC_TRACES)" || { echo "set DC_TRACES to the traces folder"; exit 2; }
	@./scripts/sim-sched.sh $(BUILD)/deepcloud $(DC_TRACES)

# The gossip simulator: SWIM and SWIM+Lifeguard side by side on one seed.
# make sim-gossip MEMBERS=10000 SIMFLAGS="--scenario starved --json"
MEMBERS ?= 1000
SIMFLAGS ?=
sim-gossip: build
	@$(BUILD)/deepcloud sim gossip --members $(MEMBERS) $(SIMFLAGS)

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(TSAN_BUILD)
