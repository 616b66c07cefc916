#!/usr/bin/env bash
# Build llama.cpp's llama-server once from the source vendored in PyPI's llama-cpp-python
# sdist, and cache it outside the repo so later runs (and CI on the same machine) reuse it.
# Prints the path of the binary on its last line.
set -euo pipefail

version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
cache_root="${INFERSTACK_CACHE:-$HOME/.cache/inferstack}"
prefix="$cache_root/llama.cpp/$version"
binary="$prefix/bin/llama-server"

if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi

python="${PYTHON:-python3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/llama-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "building llama-server from llama-cpp-python==$version (one time, ~12 min on 2 cores)" >&2
if [ -f "$cache_root/sdist/llama_cpp_python-$version.tar.gz" ]; then
  cp "$cache_root/sdist/llama_cpp_python-$version.tar.gz" "$work/"
else
  "$python" -m pip download --quiet --no-deps --no-binary :all: \
    "llama-cpp-python==$version" -d "$work" >&2
fi
tar -xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
src="$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)"

cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_SERVER=ON -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$work/build" --target llama-server -j "$(nproc)" >&2

mkdir -p "$prefix/bin"
cp "$work/build/bin/llama-server" "$binary.tmp"
mv "$binary.tmp" "$binary"
echo "$binary"
