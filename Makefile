# HireCJ: `make dev` runs everything locally, `make test` checks everything. `make help` lists targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT := $(abspath .)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PATH := $(VENV)/bin:$(PATH)
# Tests and dev talk to the native PostgreSQL on 5435 and the Redis on 6380 (with AOF) that
# scripts/dev_services.sh starts.
export IDENTITY_DATABASE_URL ?= postgresql://hirecj:hirecj_dev_password@localhost:5435/hirecj_identity
export REDIS_URL ?= redis://localhost:6380/0
export HIRECJ_TEST_REDIS_URL ?= redis://127.0.0.1:6380

PY_STAMP := $(VENV)/.installed
NPM_STAMP := homepage/node_modules/.installed

.PHONY: help install services migrate dev stop test lint format test-python test-shared test-auth \
        test-agents test-scaled test-homepage test-e2e build-homepage clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

install: $(PY_STAMP) $(NPM_STAMP) ## create .venv, install Python packages (shared editable) and npm packages

$(PY_STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@

$(NPM_STAMP): homepage/package.json $(wildcard homepage/package-lock.json)
	cd homepage && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

services: ## start native PostgreSQL (5435) and Redis if they are not running
	bash scripts/dev_services.sh

migrate: install services ## apply pending identity-database migrations
	cd agents && $(PY) scripts/run_migration.py

# What dev starts is recorded under .data/dev/ (dev_services.sh --record, scripts/dev_stack.py),
# so that `make stop` stops exactly that. With no Shopify credentials, the demo store runs too.
dev: install ## run auth (8103), agents (8000), the homepage (3456) and, without credentials, the demo store (8104)
	bash scripts/dev_services.sh --record
	cd agents && $(PY) scripts/run_migration.py
	$(VENV)/bin/honcho -f Procfile.dev start

stop: ## stop everything make dev started (services, demo store, its PostgreSQL and Redis)
	$(PY) scripts/dev_stack.py stop

lint: install ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd $(ROOT) && $(VENV)/bin/mypy shared
	cd auth && $(VENV)/bin/mypy app
	cd agents && $(VENV)/bin/mypy app
	$(VENV)/bin/vulture

format: install ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-shared: install services
	$(PY) -m pytest tests

test-auth: install services
	cd auth && $(PY) -m pytest tests

test-agents: install services
	cd agents && $(PY) -m pytest tests

# The same suites again on what production grows into: a 3-master Redis Cluster and PgBouncer in
# transaction mode, both started by the test plugin as processes (shared/testing/plugin.py).
test-scaled: install
	HIRECJ_NEED_PGBOUNCER=1 bash scripts/dev_services.sh
	HIRECJ_TEST_STACK=scaled $(PY) -m pytest tests
	cd auth && HIRECJ_TEST_STACK=scaled $(PY) -m pytest tests
	cd agents && HIRECJ_TEST_STACK=scaled $(PY) -m pytest tests

test-python: test-shared test-auth test-agents test-scaled ## every Python suite, on one node and scaled

build-homepage: install ## production build of the homepage (homepage/dist)
	cd homepage && npm run build

test-homepage: install ## typecheck, build and unit-test the homepage
	cd homepage && npm run build && npm test

test-e2e: install services build-homepage ## browser tests: every service as a process, Debian's Chromium
	bash scripts/ensure_chromium.sh
	cd homepage/e2e && $(PY) -m pytest -q

test: install services lint test-python test-homepage test-e2e ## lint and every test suite (what CI runs)

clean: ## remove build output (keeps .venv, node_modules and the database)
	rm -rf homepage/dist .pytest_cache .mypy_cache .ruff_cache
