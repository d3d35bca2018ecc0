# skoala-airgap developer tasks. `make install` then `make test` on a fresh Debian with Python 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test lint demo bench clean

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'

test:
	$(BIN)/python -m pytest -q

lint:
	$(BIN)/ruff check skoala_airgap tests fixtures bench
	$(BIN)/ruff format --check skoala_airgap tests fixtures bench
	$(BIN)/mypy

demo:
	$(BIN)/python -m fixtures.demo

bench:
	$(BIN)/python -m bench.inspect
	$(BIN)/python -m bench.push
	$(BIN)/python -m bench.sync
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
