#!/usr/bin/env bash
# The main job: installs what is missing, builds, fetches the default model
# (SmolLM2-135M-Instruct) and streams a sample chat completion from it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
BUILD_DIR="${LLMW_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMW_CUDA="${LLMW_CUDA:-AUTO}" \
  > /dev/null
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target llmw
MODEL="$(scripts/fetch-model.sh)"

PROMPT="${1:-Explain in three sentences why the sky is blue.}"
exec "$BUILD_DIR/tools/llmw" generate --model "$MODEL" --chat --prompt "$PROMPT" \
  --max-tokens 200 --temperature 0.2 --seed 42
