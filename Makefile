# k8sviz: `make run` starts the whole stack, `make test` runs every test. Both work from a fresh
# clone: they create .venv with Python 3.12, install requirements.txt when it changed, and (for
# `run`) migrate. Defaults are embedded (SQLite under var/, a private Redis); set DATABASE_URL
# and/or REDIS_URL to use real servers. Extra pytest options: make test PYTEST_ARGS="-x -k smoke"

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=
# BROWSER=0 skips the Chromium pass (CI's PostgreSQL run: the browser tests do not depend on
# the database and run in its SQLite run).
BROWSER ?= 1

.PHONY: help install deps migrate run test test-fast clean distclean

help:
	@echo "make run      install, migrate, then start Redis (embedded), daphne, Celery worker + beat"
	@echo "              on http://$(HOST):$(PORT)/  (HOST=, PORT= to change; Ctrl-C stops all)"
	@echo "make test     install, then the suite: non-browser tests, then browser tests (BROWSER=0: no Chromium)"
	@echo "make install  create .venv (Python 3.12), install requirements, migrate"
	@echo "make clean    remove caches and test artifacts; make distclean also removes .venv and var/"

# The interpreter: python3.12 on PATH (pyenv's shim counts if it can run), else `pyenv which`,
# else any 3.12 pyenv has installed.
$(PY):
	@echo "==> creating $(VENV) with Python 3.12"
	@py=""; \
	for candidate in "$$(command -v python3.12 2>/dev/null)" "$$(pyenv which python3.12 2>/dev/null)" \
	    $$(ls -d "$$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.12*/bin/python3.12 2>/dev/null | sort -V -r); do \
	  if [ -n "$$candidate" ] && "$$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then \
	    py="$$candidate"; break; \
	  fi; \
	done; \
	if [ -z "$$py" ]; then \
	  echo "ERROR: Python 3.12 not found: put python3.12 on PATH or install it with 'pyenv install 3.12'" >&2; \
	  exit 1; \
	fi; \
	echo "    using $$py ($$("$$py" -V))"; \
	rm -rf $(VENV); \
	"$$py" -m venv $(VENV)

# Reinstall only when requirements.txt is newer than the stamp (or the venv is new).
$(STAMP): requirements.txt | $(PY)
	@echo "==> installing requirements.txt into $(VENV)"
	@$(PY) -m pip install --disable-pip-version-check --quiet -r requirements.txt
	@touch $(STAMP)

deps: $(STAMP)
	@echo "==> $(VENV) is up to date with requirements.txt"

migrate: deps
	@echo "==> migrating the database ($${DATABASE_URL:-embedded SQLite var/db.sqlite3})"
	@$(PY) manage.py migrate --noinput

install: deps migrate

run: install
	@echo "==> starting the stack: $(PY) manage.py runstack --host $(HOST) --port $(PORT)"
	@$(PY) manage.py runstack --host $(HOST) --port $(PORT)

# Tests build their own database (pytest-django), so they need no migrated main database.
# Browser tests run in their own process: Playwright's event loop breaks later async tests.
test: deps
	@echo "==> database: $${DATABASE_URL:-embedded SQLite (var/test-db.sqlite3)}; redis: $${REDIS_URL:-embedded, started by the tests}"
	@echo "==> [1/2] pytest -m 'not browser' $(PYTEST_ARGS)"
	@set +e; \
	$(PY) -m pytest -m "not browser" $(PYTEST_ARGS); main=$$?; \
	if [ "$(BROWSER)" = "0" ]; then \
	  echo "==> [2/2] browser tests skipped (BROWSER=0)"; browser=0; \
	else \
	  echo "==> [2/2] pytest -m browser $(PYTEST_ARGS)"; \
	  $(PY) -m pytest -m browser $(PYTEST_ARGS); browser=$$?; \
	fi; \
	if [ $$browser -eq 5 ]; then \
	  echo "!!!!!!!! NO BROWSER TESTS WERE COLLECTED (pytest exit 5): nothing ran in Chromium !!!!!!!!"; \
	  browser=0; \
	fi; \
	if [ $$main -eq 0 ] && [ $$browser -eq 0 ]; then \
	  echo "==> make test: PASSED (non-browser: exit $$main, browser: exit $$browser)"; \
	else \
	  echo "==> make test: FAILED (non-browser: exit $$main, browser: exit $$browser)" >&2; \
	  exit 1; \
	fi

clean:
	@echo "==> removing caches and test artifacts"
	@rm -rf .pytest_cache .mypy_cache .ruff_cache test-artifacts
	@find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	@echo "==> removing $(VENV) and var/ (the embedded database and secret key)"
	@rm -rf $(VENV) var
