# Lockstep developer commands (GNU make). `make run` starts everything locally, `make test`
# runs the whole suite; `make help` lists the rest.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
# Interpreter used to create the virtualenv; empty means "python3.11, else python3 if >= 3.11".
PYTHON ?=
HOST ?= 127.0.0.1
PORT ?= 8000
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k board -x"`.
PYTEST_ARGS ?=

# Re-install only when requirements.lock is newer than the last successful install.
STAMP := $(VENV)/.requirements.lock.installed

# Local commands run with DEBUG=1 (development key, static files from the source tree) unless
# DEBUG is set in the environment or on the command line; production never goes through make.
DEV_ENV = DEBUG="$${DEBUG:-1}"

.PHONY: help venv install lock migrate seed run test lint check bench loadtest

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(PY):
	@py="$(PYTHON)"; \
	if [ -z "$$py" ]; then \
	  for candidate in python3.11 python3; do \
	    if command -v "$$candidate" >/dev/null 2>&1 && "$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	      py="$$candidate"; break; \
	    fi; \
	  done; \
	fi; \
	if [ -z "$$py" ] || ! "$$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	  echo "make: Lockstep needs Python >= 3.11; install python3.11 or pass PYTHON=/path/to/python3.x" >&2; exit 1; \
	fi; \
	echo "Creating $(VENV) with $$("$$py" --version)"; \
	"$$py" -m venv $(VENV)

venv: $(PY) ## Create the virtualenv (.venv) if missing

$(STAMP): requirements.lock | $(PY)
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip check
	@touch $@

install: $(STAMP) ## Install the exact pins of requirements.lock into .venv (only when it changed)

lock: | $(PY) ## Re-resolve the ranges in pyproject.toml into requirements.lock
	@set -euo pipefail; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > "$$tmp/ranges.txt"; \
	"$$($(PY) -c 'import sys; print(sys._base_executable)')" -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet -r "$$tmp/ranges.txt"; \
	{ sed -n '/^#/!q;p' requirements.lock; "$$tmp/venv/bin/python" -m pip freeze --exclude-editable; } > "$$tmp/requirements.lock"; \
	mv "$$tmp/requirements.lock" requirements.lock; \
	echo "requirements.lock regenerated; review with git diff, then make install"

migrate: install ## Apply database migrations
	$(DEV_ENV) $(PY) manage.py migrate --noinput

seed: migrate ## Load the demo data (idempotent) and print the demo logins
	$(DEV_ENV) $(PY) manage.py seed_demo

run: install ## Migrate, seed, serve on HOST:PORT (127.0.0.1:8000) + Celery worker/beat; Ctrl-C stops all
	$(DEV_ENV) HOST=$(HOST) PORT=$(PORT) VENV=$(VENV) ./scripts/run.sh

test: install ## Run the whole test suite (browser tests included); no tests collected is a failure
	@if [ -n "$${DATABASE_URL:-}" ]; then db="$${DATABASE_URL%%://*} from DATABASE_URL"; else db="embedded SQLite"; fi; \
	if [ -n "$${REDIS_URL:-}" ]; then broker="redis from REDIS_URL"; else broker="embedded SQLite (sqla+sqlite)"; fi; \
	echo "make test: database=$$db, broker=$$broker"
	@$(VENV)/bin/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests, which counts as a failure" >&2; fi; \
	exit $$rc

lint: install ## ruff check + ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: install ## Django system checks and a missing-migrations check
	$(DEV_ENV) $(PY) manage.py check
	$(DEV_ENV) $(PY) manage.py makemigrations --check --dry-run

bench: install ## Run the benchmark script (bench/run.py)
	$(PY) bench/run.py

loadtest: install ## 60 s of 16 signed-in people against gunicorn on the bench database (PostgreSQL, Redis)
	$(PY) bench/loadtest/run.py
