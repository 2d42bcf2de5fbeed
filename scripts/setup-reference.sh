#!/usr/bin/env bash
# Builds the reference peer from one llama.cpp source, the one vendored in the
# PyPI source distribution of llama-cpp-python: the Python package (for the
# fixture scripts) into a venv under ~/.cache/llm-worker/ref-venv, and
# llama.cpp's own C++ benchmark, llama-bench (for bench/compare_llamacpp.sh),
# into that venv's bin/. Both are built for the instruction sets this CPU
# reports (scripts/reference-cpu-flags.sh). Only the fixture scripts and the
# benchmarks need it; the tests never do. Prints the venv's path.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${LLMW_CACHE_DIR:-$HOME/.cache/llm-worker}/ref-venv"
VERSION="0.3.36"
FLAGS="$(scripts/reference-cpu-flags.sh | tr '\n' ' ')"
STAMP="$VENV/llmw-reference-build"

if [[ -x "$VENV/bin/python" && -x "$VENV/bin/llama-bench" &&
  "$(cat "$STAMP" 2>/dev/null)" == "$VERSION $FLAGS" ]]; then
  echo "$VENV"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$VENV"
echo "setup-reference: building llama-cpp-python $VERSION and llama-bench (takes several minutes)" >&2
"$VENV/bin/pip" download --quiet --no-deps --no-binary :all: -d "$work" \
  "llama-cpp-python==$VERSION" >&2
sdist="$work/llama_cpp_python-$VERSION.tar.gz"
CMAKE_ARGS="$FLAGS" "$VENV/bin/pip" install --quiet --force-reinstall --no-cache-dir \
  "$sdist" numpy jinja2 gguf >&2

tar -xzf "$sdist" -C "$work"
src="$work/llama_cpp_python-$VERSION/vendor/llama.cpp"
# shellcheck disable=SC2086  # FLAGS is a list of arguments
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  $FLAGS > /dev/null
cmake --build "$work/build" --target llama-bench --parallel "$(nproc)" > /dev/null
cp "$work/build/bin/llama-bench" "$VENV/bin/llama-bench"

echo "$VERSION $FLAGS" > "$STAMP"
echo "$VENV"
