# pmm: every target builds its own virtual environment from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The official Kalshi client needs Python 3.13: its own environment, rebuilt when the pin changes.
KALSHI_VENV := .venv-kalshi
KALSHI_REQUIREMENTS := tests/conformance/requirements-kalshi.txt
KALSHI_STAMP := $(KALSHI_VENV)/.installed
# hftbacktest, the reference our fill model is checked against (ARCHITECTURE.md "Research
# loop"): not a pmm dependency (numba, polars), so it gets an environment of its own.
HBT_VENV := .venv-hbt
HBT_PYTHON ?= python3.11
HBT_STAMP := $(HBT_VENV)/.installed

.PHONY: demo test lint unit integration conformance bench hbt-compare clean venv

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

$(HBT_STAMP): bench/requirements-hbt.txt
	@echo "==> $(HBT_VENV): hftbacktest and what it needs (bench/requirements-hbt.txt)"
	@command -v $(HBT_PYTHON) >/dev/null || { echo "hbt-compare needs $(HBT_PYTHON) (the pinned wheels are cp311); set HBT_PYTHON=..."; exit 2; }
	$(HBT_PYTHON) -m venv $(HBT_VENV)
	$(HBT_VENV)/bin/pip install -q -r bench/requirements-hbt.txt
	@touch $(HBT_STAMP)

hbt-compare: $(HBT_STAMP)
	PYTHONPATH=. $(HBT_VENV)/bin/python bench/hbt_compare.py --out bench/results/hbt_compare.json

clean:
	rm -rf $(VENV) $(KALSHI_VENV) $(HBT_VENV) .pmm
