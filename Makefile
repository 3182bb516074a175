# Two entry points: `make serve` (try it) and `make test` (every check); CI adds `make soak`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint soak

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,prod,bench]'
	touch $@

serve: $(STAMP)
	$(BIN)/ivr demo
	$(BIN)/ivr serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# Twice the saturation load with Twilio's retries mixed in, then the ledger: about two minutes.
soak: $(STAMP)
	$(BIN)/python -m bench --soak 180
