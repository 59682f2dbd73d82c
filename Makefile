# One obvious command for each chore. Each target creates the venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-sqlite test-postgres bench faults browser check clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# The demo on http://127.0.0.1:$(PORT); pick another with `make demo PORT=8123`.
PORT ?= 8000
demo: $(STAMP)
	$(BIN)/repairtext demo --port $(PORT)

# The whole suite, once on SQLite and once on PostgreSQL (REPAIRTEXT_TEST_POSTGRES_URL, default the local server),
# one after the other: run at once on two cores, each suite's timing tests (fairness, template bombs) measured the
# other suite's load as well as their own.
test: test-sqlite test-postgres

test-sqlite: $(STAMP)
	mkdir -p var && REPAIRTEXT_TEST_DATABASE=sqlite $(BIN)/pytest -q --basetemp=var/pytest-sqlite $(PYTEST_ARGS)

test-postgres: $(STAMP)
	mkdir -p var && REPAIRTEXT_TEST_DATABASE=postgresql $(BIN)/pytest -q --basetemp=var/pytest-postgres $(PYTEST_ARGS)

# Lint and types: ruff and mypy, configured in pyproject.toml.
check: $(STAMP)
	$(BIN)/ruff check src tests bench faults
	$(BIN)/mypy src

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# Exactly once under injected faults (faults/README.md): its own PostgreSQL cluster, real serve/worker/simulator
# processes; ~5 minutes. Not part of `make test`. Sizes: FAULTS_ARGS='--texts 1000 --webhooks 100'.
faults: $(STAMP)
	$(BIN)/python faults/run.py $(FAULTS_ARGS)

clean:
	rm -rf $(VENV) var

# Only the headless-Chromium tests of the pages (needs Debian's chromium).
browser: $(STAMP)
	$(BIN)/pytest -q -m browser tests/web
