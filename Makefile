# Two commands do all the set-up on a fresh machine (Python 3.11+ and make):
#   make demo   replay the bundled example history into the embedded SQLite store, show the views
#   make test   run the whole test suite (PostgreSQL tests skip without a server, except in CI)
# Both create .venv and install the project into it on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint check clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "saftale needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/replay.py

test: $(STAMP)
	$(PY) -m pytest

# ruff format --check also reads the Python blocks of the Markdown pages (docs/, README.md):
# the examples a reader copies are formatted like the code.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

check: test lint

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis saftale-data
