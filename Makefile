# pmm: every target builds its own virtual environment from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The official Kalshi client needs Python 3.13: its own environment, rebuilt when the pin changes.
KALSHI_VENV := .venv-kalshi
KALSHI_REQUIREMENTS := tests/conformance/requirements-kalshi.txt
KALSHI_STAMP := $(KALSHI_VENV)/.installed

.PHONY: demo test lint unit integration conformance bench clean venv

venv: $(STAMP) $(KALSHI_STAMP)

$(STAMP): pyproject.toml
	@bash scripts/bootstrap.sh "$(PYTHON)" "$(VENV)"
	@touch $(STAMP)

$(KALSHI_STAMP): $(KALSHI_REQUIREMENTS) scripts/bootstrap.sh
	@bash scripts/bootstrap.sh --kalshi "$(KALSHI_VENV)" "$(KALSHI_REQUIREMENTS)"
	@touch $(KALSHI_STAMP)

demo: $(STAMP)
	$(VENV)/bin/pmm demo

test: lint $(KALSHI_STAMP)
	$(PY) -m pytest -q tests

conformance: $(STAMP) $(KALSHI_STAMP)
	$(PY) -m pytest -q tests/conformance

lint: $(STAMP)
	@echo "==> ruff (STYLE.md 11: bugbear, async, logging, security), mypy, import contracts"
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit tests/property

integration: $(STAMP)
	$(PY) -m pytest -q tests/integration

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) $(KALSHI_VENV) .pmm
