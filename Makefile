# atalla-gen top-level entry points. `make demo` and `make test` are the two
# commands the README opens with; both set up the machine first.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=
FIXTURES ?= $(abspath ../shared/fixtures)

.PHONY: all setup configure build test demo example fuzz-long fuzz-harness test-sanitize bench report clean help
SECONDS ?= 600
SEED ?= 1000000
# Debian's python3 (with python3-matplotlib), not whatever python3 is first on PATH.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)

all: build

help:
	@echo "make demo   - set up, build, and run the main job on the bundled example model"
	@echo "make test   - set up, build, and run every test (ctest)"
	@echo "make build  - Release build; tools in $(BUILD)/bin/"
	@echo "make setup  - install the Debian packages the project needs"
	@echo "sudo scripts/fresh-check.sh [--reference-blas] - the README's commands in a fresh debootstrap Debian 12 root, timed"
	@echo "make fuzz-long SECONDS=600 SEED=N - correctness fuzzing against eager PyTorch"
	@echo "make fuzz-harness SECONDS=N - libFuzzer (ASan+UBSan) on every reader and the blob loader, N s each"
	@echo "make test-sanitize - build everything with ASan+UBSan in $(BUILD)-sanitize and run every test"
	@echo "make bench  - generated kernels vs oneDNN: $(BUILD)/bench.json and $(BUILD)/bench.png"
	@echo "make report MODEL=m.pt2 [MACHINE=atalla-rtl] [PRECISION=bf16] - roofline, counters, Chrome trace and the bench chart in $(BUILD)/report/"

setup:
	@bash scripts/setup.sh

# Ninja when present (setup installs it): it keeps both cores busy to the end.
GENERATOR ?= $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")
$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Release -DATALLA_FIXTURES_DIR=$(FIXTURES) $(CMAKE_FLAGS)

configure: $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j$(JOBS)

# The test binaries are independent (each has its own temporary folder), so
# ctest runs JOBS of them at once.
test: setup
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The main job on the bundled example: look at the exported graph, compile it
# to a blob, run the blob on the simulated device and check it against eager
# LibTorch.
demo: setup
	$(MAKE) build
	$(BUILD)/bin/atalla-inspect examples/seed_accel_demo.pt2 --summary --table --code
	$(BUILD)/bin/atalla-gen --shapes static examples/seed_accel_demo.pt2 -o $(BUILD)/seed_accel_demo.atb
	$(BUILD)/bin/atalla-run $(BUILD)/seed_accel_demo.atb --trace --runs 2 --check examples/seed_accel_demo.pt2

# Re-writes the bundled example with the project's writer (a test checks it
# is unchanged).
example: build
	$(BUILD)/bin/atalla-make-example examples/seed_accel_demo.pt2

# Correctness fuzzing for a given time (make fuzz-long SECONDS=3600 SEED=5000).
fuzz-long: build
	$(BUILD)/bin/atalla-fuzz --seed $(SEED) --time $(SECONDS) --out $(BUILD)/fuzz-failures

# Coverage-guided fuzzing of the untrusted-input readers (tests/fuzz/): a
# clang build with -fsanitize=fuzzer,address,undefined in $(BUILD)/fuzz,
# seeds from the fixtures and our own writers, each harness for SECONDS s,
# FUZZ_JOBS at a time. Findings land in $(BUILD)/fuzz/artifacts/ and fail the
# target (copy each into tests/data/fuzz-regressions/, named after its
# harness, where FuzzRegressionTest replays it); the growing corpus stays in
# $(BUILD)/fuzz/corpus/.
FUZZ_HARNESSES = archive schema pickle weights_config frontend blob
FUZZ_JOBS ?= 2
fuzz-harness: build
	CC=clang CXX=clang++ cmake -S tests/fuzz -B $(BUILD)/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
	cmake --build $(BUILD)/fuzz -j$(JOBS)
	$(PYTHON) tests/fuzz/make_seeds.py $(BUILD)/fuzz/seeds $(BUILD)/bin $(FIXTURES) tests/data/torch2 examples
	@rm -rf $(BUILD)/fuzz/artifacts # earlier findings: keep them in tests/data/fuzz-regressions/
	@mkdir -p $(BUILD)/fuzz/artifacts $(addprefix $(BUILD)/fuzz/corpus/,$(FUZZ_HARNESSES))
	@echo $(FUZZ_HARNESSES) | tr ' ' '\n' | xargs -P $(FUZZ_JOBS) -I{} sh -c \
	  'cd $(BUILD)/fuzz && ./fuzz_{} -max_total_time=$(SECONDS) -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	     -artifact_prefix=artifacts/{}- corpus/{} seeds/{} > fuzz_{}.log 2>&1; \
	   echo "fuzz_{}: exit $$? $$(grep -h "stat::number_of_executed_units" fuzz_{}.log | tail -1)"'
	@if ls $(BUILD)/fuzz/artifacts/* > /dev/null 2>&1; then echo "findings:"; ls $(BUILD)/fuzz/artifacts; exit 1; fi

# Every test under AddressSanitizer and UndefinedBehaviorSanitizer, in a
# build of its own. LibTorch, oneDNN and LLVM are Debian's uninstrumented
# libraries (suppressions and why: tests/sanitize/).
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
test-sanitize: setup
	cmake -S . -B $(BUILD)-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATALLA_FIXTURES_DIR=$(FIXTURES) \
	  -DCMAKE_CXX_FLAGS="$(SAN_FLAGS)" -DCMAKE_C_FLAGS="$(SAN_FLAGS)" \
	  -DCMAKE_EXE_LINKER_FLAGS="$(SAN_FLAGS)" -DCMAKE_SHARED_LINKER_FLAGS="$(SAN_FLAGS)" $(CMAKE_FLAGS)
	cmake --build $(BUILD)-sanitize -j$(JOBS)
	cd $(BUILD)-sanitize && ASAN_OPTIONS=$$(grep -v '^#' $(abspath tests/sanitize/asan.options) | paste -sd:) \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$(abspath tests/sanitize/ubsan.supp) \
	  LSAN_OPTIONS=suppressions=$(abspath tests/sanitize/lsan.supp) ctest --output-on-failure -j1

# Generated kernels vs oneDNN, single threaded (GEMM and softmax suites plus
# memcpy bandwidth): JSON on stdout and in $(BUILD)/bench.json, the ratio
# summary on stderr, and a chart in $(BUILD)/bench.png. Then whole models
# (the UNet, the torch2 archives, the zoo) on the device against eager
# LibTorch and, where python3-torch is installed, TorchScript freeze +
# optimize_for_inference of the same zoo modules ($(BUILD)/torchscript.json).
bench: build
	OMP_NUM_THREADS=1 $(BUILD)/bin/atalla-bench --benchmark_format=json --benchmark_out=$(BUILD)/bench.json --benchmark_out_format=json
	$(PYTHON) bench/plot_bench.py $(BUILD)/bench.json $(BUILD)/bench.png
	@if $(PYTHON) -c 'import torch, torchvision' 2>/dev/null; then \
	  OMP_NUM_THREADS=1 $(PYTHON) bench/torchscript_anchor.py -o $(BUILD)/torchscript.json; \
	else echo "make bench: python3-torch / python3-torchvision not installed: no TorchScript column (apt-get install python3-torch python3-torchvision)"; rm -f $(BUILD)/torchscript.json; fi
	ATALLA_TORCHSCRIPT_TIMES=$(abspath $(BUILD))/torchscript.json OMP_NUM_THREADS=1 $(BUILD)/bin/atalla-bench-models --benchmark_format=json --benchmark_out=$(BUILD)/bench-models.json --benchmark_out_format=json

# A model on the modelled Atalla: counters (JSON), a Chrome trace, the
# roofline PNG, and the benchmark chart (from $(BUILD)/bench.json when
# `make bench` wrote one, else from a short run of the GEMM and softmax suites).
MODEL ?= examples/seed_accel_demo.pt2
MACHINE ?= atalla-rtl
PRECISION ?= f32
REPORT_DIR = $(BUILD)/report
REPORT_NAME = $(basename $(notdir $(MODEL)))
report: build
	@mkdir -p $(REPORT_DIR)
	$(BUILD)/bin/atalla-gen --quiet --machine $(MACHINE) --precision $(PRECISION) $(MODEL) -o $(REPORT_DIR)/$(REPORT_NAME).atb
	$(BUILD)/bin/atalla-run $(REPORT_DIR)/$(REPORT_NAME).atb --machine $(MACHINE) --inputs random --counters \
	  --report-json $(REPORT_DIR)/$(REPORT_NAME).counters.json --chrome-trace $(REPORT_DIR)/$(REPORT_NAME).trace.json
	$(PYTHON) bench/plot_roofline.py $(REPORT_DIR)/$(REPORT_NAME).counters.json $(REPORT_DIR)/$(REPORT_NAME).roofline.png
	@if [ ! -f $(BUILD)/bench.json ]; then \
	  OMP_NUM_THREADS=1 $(BUILD)/bin/atalla-bench --benchmark_filter='gemm|softmax|memcpy' --benchmark_min_time=0.02 \
	    --benchmark_format=json --benchmark_out=$(REPORT_DIR)/bench.json --benchmark_out_format=json > /dev/null; \
	  $(PYTHON) bench/plot_bench.py $(REPORT_DIR)/bench.json $(REPORT_DIR)/bench.png; \
	else $(PYTHON) bench/plot_bench.py $(BUILD)/bench.json $(REPORT_DIR)/bench.png; fi
	@echo "report: $(REPORT_DIR)/$(REPORT_NAME).roofline.png, $(REPORT_DIR)/bench.png, $(REPORT_DIR)/$(REPORT_NAME).trace.json (open in ui.perfetto.dev)"

clean:
	rm -rf $(BUILD)
