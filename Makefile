# Two commands on a fresh machine: `make run` and `make test`; `make docs` and `make contract`
# for those who publish the reference or test the contract from their CI.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DATABASE_URL ?= sqlite:///dashboards.db
TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
MUTATION_CHILDREN ?= 2
export DATABASE_URL TEST_POSTGRES_URL

.PHONY: run test lint-spec lint-python card-schemas test-sqlite test-postgresql fuzz docs contract bench mutation clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.run-deps

$(VENV)/.mutation-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,mutation]'
	touch $@ $(VENV)/.test-deps $(VENV)/.run-deps

# The spec's linters, the docs renderer and the TypeScript generator and compiler, exactly as
# package-lock.json pins them.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

run: $(VENV)/.run-deps
	$(BIN)/dashboards-api init
	$(BIN)/dashboards-api demo
	$(BIN)/dashboards-api serve --host $(HOST) --port $(PORT)

test: lint-spec lint-python test-sqlite test-postgresql

# Both linters over the spec, with the rules of redocly.yaml and .spectral.yaml: a warning fails
# as an error does (redocly.yaml extends `recommended-strict`, Spectral runs with --fail-severity warn).
lint-spec: node_modules/.package-lock.json
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true node_modules/.bin/redocly lint openapi.yaml
	node_modules/.bin/spectral lint --fail-severity warn openapi.yaml

# The Python code's own checks, a few seconds: ruff's lint rules and its formatter over every
# module ([tool.ruff] in pyproject.toml; `ruff format .` applies it), and mypy's types over
# handlers/ and models/, every function annotated ([tool.mypy]).
lint-python: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The card config schemas (card_schemas/*.json, JSON Schema 2020-12) copied into openapi.yaml's
# components as OpenAPI 3.0 schemas, between the two marker lines there; run it after changing a
# card schema (tests/test_card_schemas_in_spec.py fails until the copy is current).
card-schemas: $(VENV)/.run-deps
	$(BIN)/python scripts/bundle_card_schemas.py openapi.yaml

test-sqlite: $(VENV)/.test-deps node_modules/.package-lock.json
	TEST_DATABASE=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgresql: $(VENV)/.test-deps
	TEST_DATABASE=postgresql $(BIN)/python -m pytest $(PYTEST_ARGS)

# Longer contract fuzzing than the suite's CI profile.
fuzz: $(VENV)/.test-deps
	HYPOTHESIS_PROFILE=fuzz TEST_DATABASE=sqlite $(BIN)/python -m pytest tests/test_contract.py
	HYPOTHESIS_PROFILE=fuzz TEST_DATABASE=postgresql $(BIN)/python -m pytest tests/test_contract.py

# One static HTML reference (the renderer inlined, so it opens offline), checked for every operation.
docs: node_modules/.package-lock.json $(VENV)/.run-deps
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true node_modules/.bin/redocly build-docs \
		openapi.yaml --inlineBundle --output docs/index.html
	$(BIN)/python scripts/check_docs.py openapi.yaml docs/index.html

# The Schemathesis command line against a live server with demo data, as a user's CI runs it.
contract: $(VENV)/.test-deps
	PATH="$(abspath $(BIN)):$$PATH" scripts/contract.sh

# Benchmarks, not tests: the figures of the README's performance section (a few minutes each).
bench: $(VENV)/.test-deps
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/bench_http.py
	$(BIN)/python bench/bench_datasets.py --database sqlite
	$(BIN)/python bench/bench_datasets.py --database postgresql
	$(BIN)/python bench/bench_render.py --database sqlite
	$(BIN)/python bench/bench_render.py --database postgresql
	$(BIN)/python bench/bench_hostile.py

# Mutation testing, not part of `make test` (long: every mutant runs the tests that reach it).
# Starts afresh each time, on SQLite, as [tool.mutmut] in pyproject.toml configures it, then
# prints killed/survived per module group; MUTATION.md lists the survivors judged equivalent.
mutation: $(VENV)/.mutation-deps
	rm -rf mutants
	TEST_DATABASE=sqlite $(BIN)/mutmut run --max-children $(MUTATION_CHILDREN)
	$(BIN)/python scripts/mutation_summary.py

clean:
	rm -rf $(VENV) mutants node_modules docs dashboards.db dashboards.db-wal dashboards.db-shm
