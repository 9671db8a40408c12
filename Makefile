# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DATABASE_URL ?= sqlite:///dashboards.db
TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
export DATABASE_URL TEST_POSTGRES_URL

.PHONY: run test test-sqlite test-postgresql fuzz bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/dashboards-api init
	$(BIN)/dashboards-api demo
	$(BIN)/dashboards-api serve --host $(HOST) --port $(PORT)

test: test-sqlite test-postgresql

test-sqlite: $(VENV)/.test-deps
	TEST_DATABASE=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgresql: $(VENV)/.test-deps
	TEST_DATABASE=postgresql $(BIN)/python -m pytest $(PYTEST_ARGS)

# Longer contract fuzzing than the suite's CI profile.
fuzz: $(VENV)/.test-deps
	HYPOTHESIS_PROFILE=fuzz TEST_DATABASE=sqlite $(BIN)/python -m pytest tests/test_contract.py
	HYPOTHESIS_PROFILE=fuzz TEST_DATABASE=postgresql $(BIN)/python -m pytest tests/test_contract.py

clean:
	rm -rf $(VENV) dashboards.db dashboards.db-wal dashboards.db-shm
