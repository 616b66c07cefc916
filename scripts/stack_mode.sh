#!/usr/bin/env bash
# Print the mode `make start` runs the stack in: `compose` or `native`.
#   STACK_MODE=compose|native   forces it
#   unset: compose when a Docker engine answers `docker info`, else native
set -euo pipefail

case "${STACK_MODE:-}" in
  compose | native) echo "$STACK_MODE" ;;
  "")
    if command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; then
      echo compose
    else
      echo native
    fi
    ;;
  *)
    echo "error: STACK_MODE must be compose or native, not '$STACK_MODE'" >&2
    exit 2
    ;;
esac
