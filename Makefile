# Two commands on a fresh machine with Python 3.11+:  make demo  |  make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=
# make test runs on this many processes (pytest-xdist; -n0 in ARGS: one process)
TEST_WORKERS ?= 2

.PHONY: venv demo test lint bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

demo: venv
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py demo

test: venv
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) .data staticfiles
