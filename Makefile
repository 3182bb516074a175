# Two entry points: `make serve` (try it) and `make test` (every check); CI adds `make soak`.
# scripts/bootstrap installs or starts what the suite needs (as root), or names what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint soak bootstrap

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

# The machine first: a missing piece stops the run at once, before the minute of pip.
bootstrap:
	PYTHON=$(PYTHON) scripts/bootstrap

test: bootstrap
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest

# Twice the saturation load with Twilio's retries mixed in, then the ledger: about two minutes.
soak:
	PYTHON=$(PYTHON) scripts/bootstrap bench
	$(MAKE) --no-print-directory $(STAMP)
	$(BIN)/python -m bench --soak 180
