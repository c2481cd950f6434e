# fieldline — everything a fresh clone needs, from Python 3.11 and make alone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TYPECHECK_ROOT := .typecheck

.PHONY: install lint typecheck test test-only demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

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

test-only: $(STAMP)
	$(BIN)/pytest

test: lint typecheck test-only

demo: $(STAMP)
	$(BIN)/fieldline demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(TYPECHECK_ROOT) .bench .pytest_cache .mypy_cache .ruff_cache
