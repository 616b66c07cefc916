#!/usr/bin/env bash
# First-time setup in one go (`make setup`); harmless to re-run:
#   1. .env from .env.example, unless .env exists
#   2. the model: ./download_model.sh ${MODEL:-smollm2} (MODEL=llama-3.1-8b for GPU engines)
#   3. make start: brings the stack up and waits until healthy. Natively it initializes
#      PostgreSQL on the first start and applies init-scripts/postgres/init.sql on every one
#      (compose's postgres image applies it at its first start), and creates the Qdrant and
#      object-store folders under .state/ (compose creates the MinIO bucket).
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -f .env ] && [ -f .env.example ]; then
  cp .env.example .env
  echo "created .env from .env.example; change its passwords before exposing the stack"
fi
make install
PYTHON=.venv/bin/python ./download_model.sh "${MODEL:-smollm2}"
make start
