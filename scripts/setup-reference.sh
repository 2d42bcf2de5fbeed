#!/usr/bin/env bash
# Builds the reference peer, llama.cpp through the PyPI package
# llama-cpp-python, into a venv under ~/.cache/llm-worker/ref-venv. Only the
# fixture scripts and the benchmarks need it; the tests never do.
#
# AMX is left out: on machines whose CPU reports AMX but whose kernel or
# hypervisor does not grant it, llama.cpp's AMX matmul crashes.
set -euo pipefail

VENV="${LLMW_CACHE_DIR:-$HOME/.cache/llm-worker}/ref-venv"
VERSION="0.3.36"
FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX_VNNI=ON -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF"
STAMP="$VENV/llmw-reference-build"

if [[ -x "$VENV/bin/python" && "$(cat "$STAMP" 2>/dev/null)" == "$VERSION $FLAGS" ]]; then
  echo "$VENV"
  exit 0
fi

python3 -m venv "$VENV"
echo "setup-reference: building llama-cpp-python $VERSION (takes several minutes)" >&2
CMAKE_ARGS="$FLAGS" "$VENV/bin/pip" install --quiet --force-reinstall --no-cache-dir \
  "llama-cpp-python==$VERSION" numpy jinja2 gguf >&2
echo "$VERSION $FLAGS" > "$STAMP"
echo "$VENV"
