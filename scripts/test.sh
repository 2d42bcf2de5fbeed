#!/usr/bin/env bash
# The test command: installs what is missing (Debian packages, the PyPI tools of
# the deployment and structured-output checks), fetches the test models,
# configures, builds and runs every test in the default set; then builds the unit
# tests and the fuzz targets with ASan + UBSan (clang) and runs them, the fuzz
# targets for a bounded time each (scripts/test-sanitized.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/setup-deploy-tools.sh > /dev/null
scripts/setup-test-tools.sh > /dev/null
scripts/fetch-model.sh > /dev/null
scripts/fetch-model.sh gemma3 > /dev/null

BUILD_DIR="${LLMW_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMW_CUDA="${LLMW_CUDA:-AUTO}"
cmake --build "$BUILD_DIR" --parallel "$(nproc)"

# Tests that need a model fail, rather than skip, when it is missing.
export LLMW_REQUIRE_MODELS=1
ctest --test-dir "$BUILD_DIR" --output-on-failure --parallel "$(nproc)" --timeout 900

if command -v clang++ > /dev/null; then
  scripts/test-sanitized.sh address,undefined unit
fi
