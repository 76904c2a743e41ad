# ledtree — the README's two commands are `make run` and `make test`.
# Works from a fresh clone with only python3 (3.11+), make, node/npm and apt.
# Every step is skipped when nothing it depends on changed (stamp files), so a second run is fast.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
FRONTEND := web/frontend
DIST := web/static/dist
RUN_STAMP := $(VENV)/.ledtree-run-deps
TEST_STAMP := $(VENV)/.ledtree-test-deps
NODE_STAMP := $(FRONTEND)/node_modules/.ledtree-npm-ci
DIST_STAMP := $(DIST)/.ledtree-built
PYTEST_ARGS ?=

# The front-end is rebuilt when its lockfile, package.json or any source file is newer than the bundle.
FRONTEND_SRC := $(shell find $(FRONTEND) -path $(FRONTEND)/node_modules -prune -o -type f -print 2>/dev/null)
ifneq ($(wildcard $(FRONTEND)/package.json),)
FRONTEND_TARGET := $(DIST_STAMP)
endif

.PHONY: help run test lint bench chromium frontend deps test-deps clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: deps frontend ## install what is missing, start runner (virtual tree) + web, print the URL
	$(PY) scripts/run_local.py

test: test-deps frontend chromium lint ## install what is missing, then lint, type-check and the whole suite
	$(PY) -m pytest $(PYTEST_ARGS)

lint: test-deps ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: test-deps frontend ## run every bench/*.py and print its figures
	@for script in bench/*.py; do \
		[ -e "$$script" ] || continue; \
		echo "== $$script"; \
		$(PY) "$$script"; \
	done

chromium: ## make sure /usr/bin/chromium exists (installs it with apt when root)
	@bash scripts/ensure_chromium.sh

deps: $(RUN_STAMP)
test-deps: $(TEST_STAMP)
frontend: $(FRONTEND_TARGET)

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "ledtree needs Python 3.11 or newer as '$(PYTHON)' (try: make PYTHON=python3.11 ...)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { \
		echo "could not create $(VENV); on Debian/Ubuntu run: sudo apt-get install -y python3-venv"; exit 1; }

# Editable as a plain path in a .pth (compat), not setuptools' import hook: every sandbox child
# starts a fresh interpreter, and importing the hook (pathlib, fnmatch, re, urllib) cost each one
# ~14 ms of its cold start. The runner image installs the package itself, so neither applies there.
EDITABLE_MODE := --config-settings editable_mode=compat

$(RUN_STAMP): pyproject.toml | $(PY)
	$(PIP) install -q $(EDITABLE_MODE) -e '.[runner,web]'
	@touch $@

# The test extras are a superset, so installing them also satisfies `make run`.
$(TEST_STAMP): pyproject.toml | $(PY)
	$(PIP) install -q $(EDITABLE_MODE) -e '.[runner,web,test]'
	@touch $@ $(RUN_STAMP)

$(NODE_STAMP): $(FRONTEND)/package.json $(wildcard $(FRONTEND)/package-lock.json)
	@command -v npm >/dev/null || { echo "npm is missing: sudo apt-get install -y nodejs npm"; exit 1; }
	npm --prefix $(FRONTEND) ci --no-audit --no-fund --loglevel=error
	@touch $@

$(DIST_STAMP): $(NODE_STAMP) $(FRONTEND_SRC)
	npm --prefix $(FRONTEND) run build
	@mkdir -p $(DIST)
	@touch $@

clean: ## remove caches, build output, the front-end bundle and node_modules (keeps .venv)
	rm -rf build .pytest_cache .ruff_cache .mypy_cache .hypothesis *.egg-info
	rm -rf $(DIST) $(FRONTEND)/node_modules
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## also remove the virtualenv
	rm -rf $(VENV)
