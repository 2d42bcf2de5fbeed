#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, builds the CUDA backend (-DLLMW_CUDA=ON) and
# runs every test under tests/gpu/. There a skipped test is a failure, and so is a missing GPU.
#
#   tests/gpu/check.sh [build-dir]     (default: <repo>/build-gpu)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build-gpu}"
jobs="$(nproc)"

die() {
  echo "tests/gpu/check.sh: FAILED: $*" >&2
  exit 1
}

command -v nvidia-smi >/dev/null || die "nvidia-smi not found: no NVIDIA driver on this machine"
nvidia-smi || die "nvidia-smi failed: the GPU or its driver is not usable"
gpus="$(nvidia-smi -L | grep -c '^GPU ' || true)"
[[ "$gpus" -gt 0 ]] || die "nvidia-smi lists no GPU"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$root" -B "$build" "${generator[@]}" -DLLMW_CUDA=ON -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" --target llmw_gpu_tests --parallel "$jobs"

# Makes the tests fail rather than skip when they find no device.
export LLMW_REQUIRE_GPU=1
log="$build/gpu-ctest.log"
status=0
ctest --test-dir "$build/tests/gpu" --output-on-failure --no-tests=error 2>&1 | tee "$log" ||
  status=$?
[[ "$status" -eq 0 ]] || die "GPU tests failed (ctest exit $status, log: $log)"
if grep -q 'did not run' "$log"; then
  die "some GPU tests were skipped or not run on a GPU machine (log: $log)"
fi
echo "tests/gpu/check.sh: all GPU tests passed on $gpus GPU(s)"
