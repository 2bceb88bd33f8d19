# pvopt developer commands. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SIM_STAMP := $(VENV)/.installed-sim

.PHONY: test lint bench demo services clean

# The venv and pip itself, once.
$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null && \
	    rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); \
	  else rm -rf $(VENV); echo "python3 -m venv failed: sudo apt-get install python3-venv" >&2; exit 1; fi; }
	$(BIN)/pip install -q --upgrade pip

# Everything (tests, linters, simulator); it covers the demo's needs too.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,lint,sim]'
	@touch $(STAMP) $(SIM_STAMP)

# The demo only needs the simulator extra (pvlib, matplotlib): a newcomer's first
# command does not wait for the test tools and linters.
$(SIM_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[sim]'
	@touch $(SIM_STAMP)

# A simulated day of the shipped configuration under pvopt, the original algorithm and
# no regulation: report on stdout, picture in demo/broken-clouds.png.
demo: $(SIM_STAMP)
	$(BIN)/pvopt simulate --scenario broken-clouds --config equipment_config.yml.template \
	  --plot demo/broken-clouds.png

services:
	@scripts/ensure-test-services.sh

# The suite in two runs of pytest-xdist workers. The unit and simulation tests keep the
# CPU busy: one worker per core. The integration tests mostly wait on the real chain's
# real time: 4 workers, a module's tests on one of them, the real-time modules one after
# another on one worker (tests/integration/conftest.py). Both runs always run; the first
# failure's status is make's.
test: $(STAMP) services
	@status=0; \
	$(BIN)/pytest -n auto --dist loadfile tests/unit tests/sim || status=$$?; \
	$(BIN)/pytest -n 4 --dist loadgroup --no-loadscope-reorder tests/integration \
	  || { rc=$$?; [ $$status -ne 0 ] || status=$$rc; }; \
	exit $$status

lint: $(STAMP)
	$(BIN)/ruff check pvopt tests benchmarks
	$(BIN)/ruff format --check pvopt tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_decoder.py
	$(BIN)/python benchmarks/bench_latency.py
	$(BIN)/python benchmarks/bench_step_bound.py
	$(BIN)/python benchmarks/bench_simulate.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
