# inferstack — one command to start the stack, one to test it.
# Everything installs what it needs: a virtualenv in .venv, llama-server built once into
# ~/.cache/inferstack (INFERSTACK_CACHE), the SmolLM2 model into models/.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# ENGINE=cpu|vllm|max picks the engine profile, several as ENGINE="vllm max". Compose mode (a
# Docker engine answers, or STACK_MODE=compose): the compose profiles; empty =
# COMPOSE_PROFILES from .env. Native mode: llama.cpp always, plus vLLM's CPU build and/or MAX
# Serve on the CPU, each in an environment built once into ~/.cache/inferstack.
ENGINE ?=
comma := ,
ENGINES := $(subst $(comma), ,$(ENGINE))
NATIVE_ENGINES := $(filter vllm max,$(ENGINES))
# make start REPLICAS=2: two llama-server replicas serving SmolLM2, the gateway routing
# between them (natively the `replicas` profile's engine2; in compose llamacpp2, its URL in
# LLAMACPP_URLS).
REPLICAS ?=
ifneq ($(filter-out 1 2,$(REPLICAS)),)
$(error REPLICAS=$(REPLICAS): the stacks run 1 or 2 llama-server replicas)
endif
TWO_REPLICAS := $(filter 2,$(REPLICAS))
NATIVE_PROFILES := $(strip $(NATIVE_ENGINES) $(if $(TWO_REPLICAS),replicas))
COMPOSE_PROFILE_NAMES := $(sort $(ENGINES) $(if $(TWO_REPLICAS),cpu replicas))
COMPOSE = docker compose $(foreach e,$(COMPOSE_PROFILE_NAMES),--profile $(e))
COMPOSE_ALL = docker compose --profile cpu --profile vllm --profile max --profile replicas
COMPOSE_REPLICAS_ENV = $(if $(TWO_REPLICAS),LLAMACPP_URLS=http://llamacpp:8080$(comma)http://llamacpp2:8080)
# Two llama-servers split the cores (see configs/stack.yaml, engine.vars.threads), unless
# STACKCTL_ENGINE_THREADS / STACKCTL_ENGINE2_THREADS say otherwise.
HALF_CORES := $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n > 1 ? n / 2 : 1 )))
NATIVE_REPLICAS_ENV = $(if $(TWO_REPLICAS),\
	STACKCTL_ENGINE_THREADS=$${STACKCTL_ENGINE_THREADS:-$(HALF_CORES)} \
	STACKCTL_ENGINE2_THREADS=$${STACKCTL_ENGINE2_THREADS:-$(HALF_CORES)})
MODE = $$(scripts/stack_mode.sh)
URL ?= http://localhost:8000
# make start WORKERS=2: gateway processes on the one port (natively, several go without
# local-mode Qdrant: it is one process's alone).
WORKERS ?= $(INFERSTACK_WORKERS)
NATIVE_WORKERS_ENV = $(if $(WORKERS),STACKCTL_GATEWAY_WORKERS=$(WORKERS)) \
	$(if $(filter-out 1,$(WORKERS)),STACKCTL_GATEWAY_QDRANT_PATH=)
# make load-test USERS=8 DURATION=60s SCENARIO=stream PROFILE=gpu
# make load-test REQUESTS=200 CONCURRENCY=8 SCENARIO=all
# make load-test RATE=4 SCENARIO=stream           open loop: 4 requests/s, Poisson arrivals
# make load-test SWEEP=1,2,4 (or SWEEP=auto)       each rate for DURATION after WARMUP seconds
#   (REPEAT=3: each rate run 3 times with other seeds, pooled, the spread reported)
# make load-test SCENARIO=synthetic INPUT_LEN=uniform:128:512 OUTPUT_LEN=128 RATE=2
# make load-test SCENARIO=shared-prefix PREFIX_LEN=1000 PREFIX_GROUPS=4 | SCENARIO=multi-turn
#   TURNS=5 | SCENARIO=replay REPLAY=rec.jsonl REPLAY_TIMING=recorded; IGNORE_EOS=0 to let it stop
USERS ?= 4
SPAWN_RATE ?= 2
# Unset: 30 s, or with REQUESTS= a 1 h cap (the run ends with its last request).
DURATION ?=
REQUESTS ?=
CONCURRENCY ?=
RATE ?=
SWEEP ?=
BURSTINESS ?= 1
REPEAT ?= 1
SEED ?= 0
WARMUP ?= 5
SCENARIO ?= mixed
INPUT_LEN ?=
OUTPUT_LEN ?=
PREFIX_LEN ?=
PREFIX_GROUPS ?=
TURNS ?=
REPLAY ?=
REPLAY_TIMING ?=
IGNORE_EOS ?=
MODEL ?= SmolLM2-135M-Instruct
PROFILE ?= cpu
# zsh users often have HOST set to the machine name: only the command line may set it.
ifneq ($(origin HOST),command line)
HOST := http://localhost:8000
endif
LOAD_TEST_ARGS = --users $(USERS) --spawn-rate $(SPAWN_RATE) --scenario $(SCENARIO) \
	--host $(HOST) --model $(MODEL) --profile $(PROFILE) \
	$(if $(INPUT_LEN),--input-len $(INPUT_LEN)) $(if $(OUTPUT_LEN),--output-len $(OUTPUT_LEN)) \
	$(if $(PREFIX_LEN),--prefix-len $(PREFIX_LEN)) \
	$(if $(PREFIX_GROUPS),--prefix-groups $(PREFIX_GROUPS)) $(if $(TURNS),--turns $(TURNS)) \
	$(if $(REPLAY),--replay $(REPLAY)) $(if $(REPLAY_TIMING),--replay-timing $(REPLAY_TIMING)) \
	$(if $(filter 0 no off false,$(IGNORE_EOS)),--no-ignore-eos)
LOAD_TEST_RUN_ARGS = $(if $(DURATION),--duration $(DURATION)) \
	$(if $(REQUESTS),--requests $(REQUESTS)) $(if $(CONCURRENCY),--concurrency $(CONCURRENCY)) \
	$(if $(RATE),--rate $(RATE)) $(if $(SWEEP),--sweep $(SWEEP)) \
	$(if $(RATE)$(SWEEP),--burstiness $(BURSTINESS) --seed $(SEED) --warmup $(WARMUP) \
		--repeat $(REPEAT))

.DEFAULT_GOAL := help
.PHONY: help install setup start start-native stop status logs build test test-unit \
	test-integration compose-tools chromium test-dashboard lint bench bench-peers monitor load-test smoke \
	load-test-ui engine engine-env-vllm engine-env-max engines model model-hf clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing inferstack and its dev tools into $(VENV) (log: $(VENV)/install.log)"
	@{ $(PY) -m pip install --upgrade pip && $(PY) -m pip install -e '.[dev,embeddings]'; } \
		> $(VENV)/install.log 2>&1 || { tail -30 $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the gateway with dev tools

engine: $(STAMP) ## build llama-server once (cached outside the repo)
	@PYTHON=$(PY) scripts/build_llama_server.sh >/dev/null

engine-env-vllm: ## build vLLM's CPU-build environment once (cached outside the repo)
	@PYTHON=$(PYTHON) scripts/build_engine_env.sh vllm >/dev/null

engine-env-max: ## build MAX Serve's environment once (cached outside the repo)
	@PYTHON=$(PYTHON) scripts/build_engine_env.sh max >/dev/null

# Every engine the tests drive: llama-server's compile (CPU) and the two Python environments
# (mostly downloads) are built side by side.
engines: ## llama-server, and the vLLM and MAX environments, built in parallel
	@$(MAKE) --no-print-directory -j3 engine engine-env-vllm engine-env-max

model: $(STAMP) ## place the SmolLM2-135M-Instruct GGUF under models/
	@PYTHON=$(PY) ./download_model.sh smollm2

model-hf: $(STAMP) ## derive SmolLM2 in Hugging Face format (vLLM, MAX) from the GGUF, offline
	@PYTHON=$(PY) ./download_model.sh smollm2-hf

setup: ## first-time setup: .env, model, schema, then start (harmless to re-run)
	@./init.sh

start: ## start the stack: compose when a Docker engine answers, else native (ENGINE=cpu|vllm|max WORKERS=N REPLICAS=2)
	@if [ "$(MODE)" = compose ]; then \
		scripts/make_env.sh; \
		$(if $(WORKERS),INFERSTACK_WORKERS=$(WORKERS)) $(COMPOSE_REPLICAS_ENV) \
			$(COMPOSE) up -d --build --wait; \
	else $(MAKE) --no-print-directory start-native; fi

start-native: install engine model $(if $(NATIVE_ENGINES),model-hf) \
		$(addprefix engine-env-,$(NATIVE_ENGINES))
	@$(NATIVE_WORKERS_ENV) $(NATIVE_REPLICAS_ENV) $(PY) -m stackctl start $(if $(NATIVE_PROFILES),--profile "$(NATIVE_PROFILES)")

stop: ## stop every service of the stack (no process left behind)
	@if [ "$(MODE)" = compose ]; then $(COMPOSE_ALL) down; \
	else test -x $(PY) && $(PY) -m stackctl stop || true; fi

status: ## show each service, pid/state, port and health
	@if [ "$(MODE)" = compose ]; then $(COMPOSE_ALL) ps; else $(PY) -m stackctl status; fi

logs: ## follow service logs (make logs s=gateway)
	@if [ "$(MODE)" = compose ]; then $(COMPOSE_ALL) logs -f --tail=100 $(s); \
	else $(PY) -m stackctl logs $(s); fi

build: ## build the gateway image (compose) or the venv, engines and models (native)
	@if [ "$(MODE)" = compose ]; then $(COMPOSE) build; \
	else $(MAKE) --no-print-directory install engine model \
		$(if $(NATIVE_ENGINES),model-hf $(addprefix engine-env-,$(NATIVE_ENGINES))); fi

chromium: ## install Debian's chromium (apt, root) for the dashboard's browser test
	@scripts/install_chromium.sh || echo "no chromium: the dashboard's browser test will skip"

test-dashboard: install engine model chromium ## /dashboard in headless Chromium; screenshot under load_tests/reports/
	INFERSTACK_REPORT_DIR=$${INFERSTACK_REPORT_DIR:-load_tests/reports/dashboard-$$(date +%Y%m%d-%H%M%S)} \
		$(PY) -m pytest -q tests/integration/test_dashboard.py

compose-tools: ## install docker-compose v1 (apt, root) for the static compose checks
	@scripts/compose_checks.sh --install-only || echo "no docker-compose: the compose config check will skip"

test: install engines model model-hf compose-tools chromium ## unit + integration tests (real llama.cpp, vLLM, MAX, Postgres, Redis)
	$(PY) -m pytest -q

test-unit: install compose-tools ## unit tests only (no engine needed)
	$(PY) -m pytest -q tests/unit

test-integration: install engines model model-hf chromium ## integration tests only
	$(PY) -m pytest -q tests/integration

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy api_server stackctl bench monitor load_tests

bench: install engines model model-hf ## gateway overhead (fake engine, hosted-style upstream), tokens/s through vs direct on llama.cpp, vLLM, MAX, the routing decision's cost, and failover / prefix routing / fairness on two llama-servers
	$(PY) -m bench.overhead
	$(PY) -m bench.passthrough
	$(PY) -m bench.engines
	$(PY) -m bench.routing_decision
	$(PY) -m bench.routing

bench-peers: install ## inferstack beside LiteLLM's proxy (pinned, own venv in ~/.cache/inferstack/peers) on the same fakes: CPU/request, added latency, RSS, ratios
	$(PY) -m bench.peers $(BENCH_PEERS_ARGS)

load-test: install ## Locust vs the running stack: USERS= closed loop, RATE= or SWEEP=1,2,4|auto open loop (goodput, knee)
	$(PY) -m load_tests run $(LOAD_TEST_RUN_ARGS) $(LOAD_TEST_ARGS)

smoke: install ## seconds-long check of a running stack: health, models, chat, stream, an error (URL=)
	@$(PY) -m load_tests.smoke --url $(URL) --model $(MODEL)

load-test-ui: install ## Locust's web UI on http://127.0.0.1:8089 (same settings)
	$(PY) -m load_tests ui $(LOAD_TEST_ARGS)

monitor: install ## live terminal dashboard of the gateway (URL=http://localhost:8000)
	@$(PY) -m monitor --url $(URL)

clean: stop ## delete the native state folder (asks first)
	@read -p "Delete .state/ (PostgreSQL and Redis data, logs)? [y/N] " ans; [ "$$ans" = y ] && rm -rf .state || echo kept
