# Two commands do all the set-up on a fresh machine (README.md):
#   make run    installs tco in .venv and runs the main job on the embedded defaults
#   make test   installs everything the tests need (ML frameworks, LibreOffice) and runs every check
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The main job: what training Llama-2-7B on H100s costs across clouds, counts and purchase options,
# on the embedded price snapshot and named default assumptions (no credentials, no network).
RUN_ARGS ?= estimate train --model llama-2-7b --accelerator h100 --count 64,256,1024

.PHONY: run test venv deps-test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# (pip also compiles pricing/_pricelist.c, the native Price List reader; without a C compiler it is skipped)
$(VENV)/.base: pyproject.toml setup.py pricing/_pricelist.c | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml setup.py pricing/_pricelist.c | $(BIN)/python
	$(BIN)/pip install -q -e '.[all,dev]'
	touch $@

run: $(VENV)/.base
	$(BIN)/tco $(RUN_ARGS)

deps-test: $(VENV)/.test
	@scripts/install_test_system_deps.sh

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: deps-test lint
	$(BIN)/python -m pytest -n 2 --durations=15

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build
	rm -f pricing/*.so
