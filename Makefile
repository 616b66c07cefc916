# inferstack — one command to start the stack, one to test it.
# Everything installs what it needs: a virtualenv in .venv, llama-server built once into
# ~/.cache/inferstack (INFERSTACK_CACHE), the SmolLM2 model into models/.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install start stop status logs test test-unit test-integration lint typecheck bench engine model clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing inferstack and its dev tools into $(VENV) (log: $(VENV)/install.log)"
	@{ $(PY) -m pip install --upgrade pip && $(PY) -m pip install -e '.[dev]'; } \
		> $(VENV)/install.log 2>&1 || { tail -30 $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the gateway with dev tools

engine: $(STAMP) ## build llama-server once (cached outside the repo)
	@PYTHON=$(PY) scripts/build_llama_server.sh >/dev/null

model: $(STAMP) ## place the SmolLM2-135M-Instruct GGUF under models/
	@PYTHON=$(PY) ./download_model.sh smollm2

start: install engine model ## start the native stack (engine + gateway) and wait until healthy
	@$(PY) -m stackctl start

stop: ## stop every service of the stack
	@test -x $(PY) && $(PY) -m stackctl stop || true

status: ## show each service, pid, port and health
	@$(PY) -m stackctl status

logs: ## tail service logs (make logs s=gateway)
	@$(PY) -m stackctl logs $(s)

test: install engine model ## run unit and integration tests (real llama-server + SmolLM2)
	$(PY) -m pytest -q

test-unit: install ## unit tests only (no engine needed)
	$(PY) -m pytest -q tests/unit

test-integration: install engine model ## integration tests only
	$(PY) -m pytest -q tests/integration

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy api_server stackctl bench

bench: install ## gateway overhead vs a fast fake engine (direct vs through)
	$(PY) -m bench.overhead

clean: stop ## delete the native state folder (asks first)
	@read -p "Delete .state/ (logs, runtime data)? [y/N] " ans; [ "$$ans" = y ] && rm -rf .state || echo kept
