# The two commands of the README: `make demo` and `make test`.
# Both set up what they need first: Debian packages, the virtual environment
# at .venv, and the package with its dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[simulator,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/watchfloor demo

test: $(STAMP)
	bash scripts/start-services.sh
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff format --check --force-exclude watchfloor tests bench
	$(BIN)/ruff check --force-exclude watchfloor tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.detectors
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.replay
	$(BIN)/python -m bench.alerts
	$(BIN)/python -m bench.latency

clean:
	rm -rf $(VENV) build *.egg-info
