#!/usr/bin/env bash
# Builds the tests with clang's sanitizers in their own build directory and
# runs them:
#   scripts/test-sanitized.sh address,undefined [unit|all]   # build-asan: ASan + UBSan
#   scripts/test-sanitized.sh thread [unit|all]              # build-tsan: TSan
# "unit" (the default) runs the unit tests, plus the bounded fuzz runs in the
# ASan build (its fuzz targets share the build); "all" adds the integration
# tests. Reports from third-party code are suppressed by the files in
# tests/sanitizers/, each entry with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."

SANITIZE="${1:?usage: scripts/test-sanitized.sh address,undefined|thread [unit|all]}"
SCOPE="${2:-unit}"
case "$SANITIZE" in
  address,undefined) BUILD_DIR=build-asan FUZZ=ON LABELS="unit|fuzz" ;;
  thread) BUILD_DIR=build-tsan FUZZ=OFF LABELS="unit" ;;
  *) echo "test-sanitized: unknown sanitizer set '$SANITIZE'" >&2; exit 2 ;;
esac
if [[ "$SCOPE" == all ]]; then LABELS="$LABELS|integration"; fi

scripts/setup.sh
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLLMW_CUDA=OFF -DLLMW_BUILD_BENCH=OFF -DLLMW_SANITIZE="$SANITIZE" -DLLMW_FUZZ="$FUZZ" > /dev/null
cmake --build "$BUILD_DIR" --parallel "$(nproc)"

supp="$PWD/tests/sanitizers"
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Debian's gRPC, Abseil and protobuf are not built with TSan: ignore what they do
# themselves (see tests/sanitizers/tsan.supp).
export TSAN_OPTIONS="suppressions=$supp/tsan.supp:halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1"
export LLMW_REQUIRE_MODELS=1
ctest --test-dir "$BUILD_DIR" --output-on-failure --parallel "$(nproc)" --timeout 1800 -L "$LABELS"
