# fieldline — everything a fresh clone needs, from Python 3.11 and make alone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TYPECHECK_ROOT := .typecheck
# jsforce (pinned in .node/package-lock.json) drives the Salesforce emulator in one test.
NODE_STAMP := .node/node_modules/.installed-stamp
# pytest-xdist processes; more than the 2 cores because most tests wait on sockets and child processes.
TEST_WORKERS ?= 3

.PHONY: install lint typecheck test test-only demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Without npm (a user's machine lacking Node) the jsforce test skips and says why.
$(NODE_STAMP): .node/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix .node --no-audit --no-fund --ignore-scripts --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm not found: tests/salesforce_emulator/test_jsforce.py will skip"; fi

install: $(STAMP) $(NODE_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check engine adapters tests benchmarks

# mypy cannot follow setuptools' editable import hook for the engine/ -> fieldline mapping,
# so it checks a tree of links that has the installed package's shape.
typecheck: $(STAMP)
	rm -rf $(TYPECHECK_ROOT) && mkdir -p $(TYPECHECK_ROOT)/fieldline
	for entry in engine/*; do ln -s "$$PWD/$$entry" $(TYPECHECK_ROOT)/fieldline/; done
	ln -s "$$PWD/adapters" $(TYPECHECK_ROOT)/fieldline/adapters
	MYPYPATH=$(TYPECHECK_ROOT) $(BIN)/mypy -p fieldline
	MYPYPATH=$(TYPECHECK_ROOT) $(BIN)/mypy tests

test-only: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS)

test: lint typecheck test-only

demo: $(STAMP)
	$(BIN)/fieldline demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(TYPECHECK_ROOT) .node/node_modules .bench .pytest_cache .mypy_cache .ruff_cache
