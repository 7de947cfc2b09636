# The README's two commands: `make run` and `make test`. Each sets everything up from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup lint bench clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# Front-end assets of the web console (npm, pinned by package-lock.json; served by the service, no CDN) and
# Debian's Chromium for the console's browser tests.
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $(NODE_STAMP)

setup: $(STAMP) $(NODE_STAMP)
	@scripts/ensure-chromium

run: setup
	$(BIN)/recsys demo

# Two pytest-xdist workers per machine at most 4; each test file runs whole on one worker, so module fixtures are
# built once; `pytest` alone (one process) works too.
test: setup
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports --no-cache --no-logo

bench: setup
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) data artifacts runs node_modules
