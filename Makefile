# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint install clean scanner e2e-tools

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

## Every dependency pinned by requirements.lock (scripts/lock.sh writes it from pyproject.toml).
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	@touch $@

install: $(VENV)/.installed

## The inspector's scanner page (scanner_page/ -> scanner_page/dist/), rebuilt only when its lock or sources change.
SCANNER := scanner_page
SCANNER_SRC := $(wildcard $(SCANNER)/src/*.js $(SCANNER)/public/*) $(SCANNER)/build.mjs $(SCANNER)/package.json
$(SCANNER)/node_modules/.package-lock.json: $(SCANNER)/package-lock.json
	@cd $(SCANNER) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@
$(SCANNER)/dist/BUILD: $(SCANNER)/node_modules/.package-lock.json $(SCANNER_SRC)
	@cd $(SCANNER) && npm run --silent build
scanner: $(SCANNER)/dist/BUILD

## Browser-test tools bundled locally (axe-core for tests/e2e/axe.py), installed from their lock file.
E2E := tests/e2e
$(E2E)/node_modules/.package-lock.json: $(E2E)/package-lock.json
	@cd $(E2E) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@
e2e-tools: $(E2E)/node_modules/.package-lock.json

## Run the service on its embedded default (SQLite in var/, no Redis, dev key, demo data).
run: install scanner
	$(BIN)/stamp-service serve --host 127.0.0.1 --port $(PORT)

## Lint (ruff, format, mypy), then the whole suite on SQLite, then again on the real PostgreSQL and Redis.
test: install scanner e2e-tools lint
	bash scripts/test.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check stamp_service tests bench scripts
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache
