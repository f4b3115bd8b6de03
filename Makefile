# pmm: every target builds its own virtual environment from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint unit integration bench clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@bash scripts/bootstrap.sh "$(PYTHON)" "$(VENV)"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pmm demo

test: lint
	$(PY) -m pytest -q tests

lint: $(STAMP)
	@echo "==> ruff (STYLE.md 11: bugbear, async, logging, security) and mypy"
	$(PY) -m ruff check .
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit tests/property

integration: $(STAMP)
	$(PY) -m pytest -q tests/integration

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pmm
