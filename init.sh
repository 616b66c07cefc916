#!/usr/bin/env bash
# First-time setup in one go (`make setup`); harmless to re-run:
#   1. .env from .env.example with generated secrets, unless .env exists
#   2. the model: ./download_model.sh ${MODEL:-smollm2} (MODEL=llama-3.1-8b for GPU engines)
#   3. make start: brings the stack up and waits until healthy. Natively it initializes
#      PostgreSQL on the first start and applies init-scripts/postgres/init.sql on every one
#      (compose's postgres image applies it at its first start), and creates the Qdrant and
#      object-store folders under .state/ (compose creates the MinIO bucket).
set -euo pipefail
cd "$(dirname "$0")"

scripts/make_env.sh  # unless it exists: generated secrets, never placeholders
make install
PYTHON=.venv/bin/python ./download_model.sh "${MODEL:-smollm2}"
make start
