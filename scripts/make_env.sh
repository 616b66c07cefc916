#!/usr/bin/env bash
# Create .env for compose from .env.example, with a fresh random secret for every
# `change-me-...` placeholder (the gateway refuses those at start), so `make start` works in
# one command and no two installs share a password. Never touches an existing .env.
#   scripts/make_env.sh [TARGET] [TEMPLATE]   (default: .env from .env.example, repo root)
# Secrets are 48 hex characters: safe inside the URLs they go into. The file is 0600.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:-.env}
template=${2:-.env.example}
if [ -e "$target" ]; then
  exit 0
fi

random_secret() {
  od -An -N24 -tx1 /dev/urandom | tr -d ' \n'
}

umask 077
partial="$target.partial.$$"
trap 'rm -f "$partial"' EXIT
while IFS= read -r line || [ -n "$line" ]; do
  if [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=change-me ]]; then
    printf '%s=%s\n' "${BASH_REMATCH[1]}" "$(random_secret)"
  else
    printf '%s\n' "$line"
  fi
done <"$template" >"$partial"
mv "$partial" "$target"
trap - EXIT
echo "created $target from $template, with generated secrets (kept only there)"
