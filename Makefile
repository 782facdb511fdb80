# The two set-up commands of the README: `make demo` (the demo federation) and `make test` (the test suite).
# Each creates the virtual environment and installs what it needs on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-once test test-sqlite lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Start the demo federation on loopback, print its meta-clusters, then serve the hub API (Ctrl-C stops).
demo: $(STAMP)
	$(BIN)/medmci demo

## The same, printing the meta-clusters and exiting.
demo-once: $(STAMP)
	$(BIN)/medmci demo --once

## The whole test suite: SQLite always; PostgreSQL at 127.0.0.1:5432/test when it answers (required when CI=true).
test: $(STAMP)
	$(BIN)/python -m pytest

## ruff and mypy, as CI runs them (their settings are in pyproject.toml); tests/ is not linted yet.
lint: $(STAMP)
	$(BIN)/ruff check federation plugins connectors benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) instance .pytest_cache
