# Every target does its own set-up: a virtual environment in .venv with the project installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Four workers on two cores: many tests wait (on sockets, subprocesses, backoff), so four
# overlap those waits; worksteal evens out the long tests at the end.
PYTEST_ARGS ?= -n 4 --dist worksteal

.PHONY: demo demo-environments test check lint typecheck unit quick bench format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

demo-environments: $(STAMP)
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo-environments.sh

# `make test` (and CI): everything. `make check`: the same without the tests marked `slow`
# (bench smoke runs, fuzzers, real-time rate and restart tests): the loop while developing.
test: lint typecheck unit

check: lint typecheck quick

lint: $(STAMP)
	$(BIN)/ruff check provisioner tests bench
	$(BIN)/ruff format --check provisioner tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --strict bench tests

unit: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

quick: $(STAMP)
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/run.py

format: $(STAMP)
	$(BIN)/ruff check --fix provisioner tests bench
	$(BIN)/ruff format provisioner tests bench

clean:
	rm -rf $(VENV) .provisioner .pytest_cache .mypy_cache .ruff_cache build dist
