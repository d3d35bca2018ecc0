# skoala-airgap developer tasks. `make install` then `make test` on a fresh Debian with Python 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test lint demo bench dist clean

# System packages for the test servers first (.ci/system-packages.sh: installs as root, else prints the
# apt-get line and goes on), then the venv with the project and its dev tools.
install:
	bash .ci/system-packages.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'

test:
	$(BIN)/python -m pytest -q

lint:
	$(BIN)/ruff check skoala_airgap tests fixtures bench .ci
	$(BIN)/ruff format --check skoala_airgap tests fixtures bench .ci
	$(BIN)/mypy
	bash -n .ci/run && bash -n .ci/system-packages.sh && sh -n .ci/wheelhouse-install.sh

demo:
	$(BIN)/python -m fixtures.demo

bench:
	$(BIN)/python -m bench.inspect
	$(BIN)/python -m bench.push
	$(BIN)/python -m bench.resume
	$(BIN)/python -m bench.sync
	$(BIN)/python -m bench.load

# Offline-installable forms of the tool for an air-gapped site (needs an index to build, none to install):
# dist/skoala-airgap-VERSION-wheelhouse.tar.gz and dist/skoala-airgap.pyz.
dist:
	$(BIN)/python .ci/dist.py --out dist

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
