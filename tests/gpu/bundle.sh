#!/usr/bin/env bash
# Builds the GPU check here, without a GPU, into one folder that runs on a GPU machine:
#   tests/gpu/bundle.sh DIR
# DIR gets the GPU test binaries (and the backend conformance test), llmw, llm-worker,
# engine_bench, attention_bench and cuda_matvec_bench built for sm_90 (Hopper), the fixtures they
# read, the shared libraries they need that are not the system's or CUDA's own (the GPU machine has
# CUDA but not gRPC, protobuf or Abseil), the PyTorch peer (../shared/gpu/torch_peer.py) and
# run.sh; DIR.tar.xz is the same, packed small enough to carry to a GPU machine. There, beside the
# archive, unpack it and run `DIR/run.sh [all|tests|bench]` (logs under $OUT when set, else
# DIR/logs): the script prints the command.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${1:?usage: tests/gpu/bundle.sh DIR}"
build="${LLMW_GPU_BUILD_DIR:-$root/build-gpu}"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMW_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target llmw_gpu_tests backend_conformance_test \
  llmw llm-worker engine_bench attention_bench cuda_matvec_bench

rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/lib" "$dir/tests/fixtures"
binaries=("$build"/tests/gpu/*_test "$build/tests/unit/kernels/backend_conformance_test"
  "$build/tools/llmw" "$build/worker/llm-worker" "$build/bench/engine_bench"
  "$build/bench/attention_bench" "$build/bench/cuda_matvec_bench")
for b in "${binaries[@]}"; do [[ -x "$b" && -f "$b" ]] && cp "$b" "$dir/bin/"; done
strip --strip-unneeded "$dir"/bin/*

# Shared libraries beside the binaries, but never the C/C++ runtime or CUDA's own (the GPU
# machine's driver and toolkit must be the ones used).
ldd "$dir"/bin/* 2>/dev/null | awk '/=> \// {print $3}' | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so* | libm.so* | libdl.so* | librt.so* | libpthread.so* | ld-linux* | libgcc_s.so* | \
      libstdc++.so* | libcuda.so* | libcudart.so* | libcublas* | libnvidia* | libcudnn*) ;;
    *) cp -L "$lib" "$dir/lib/" ;;
  esac
done

# The tiny checkpoints (without their reference logits, which only the CPU tests read).
cp -r "$root/tests/fixtures/hf_tiny" "$dir/tests/fixtures/"
find "$dir/tests/fixtures" \( -name '*.logits.f32' -o -name '*.py' \) -delete
cp "$root/tests/gpu/run.sh" "$dir/run.sh"
# The PyTorch + transformers peer, measured in the same call (kept beside the repository).
peer="$root/../shared/gpu/torch_peer.py"
if [[ -f "$peer" ]]; then cp "$peer" "$dir/torch_peer.py"; else echo "bundle: no peer at $peer"; fi
# Each test binary holds its own copy of the kernels' device code: the folder is larger than
# what one device call may carry (64 MiB), its xz archive a fraction of it. Python unpacks it
# there (tar may lack xz on a bare machine).
tar -C "$(dirname "$dir")" -cJf "$dir.tar.xz" "$(basename "$dir")"
name="$(basename "$dir")"
echo "bundle: $dir ($(du -sh "$dir" | cut -f1)), $dir.tar.xz ($(du -sh "$dir.tar.xz" | cut -f1))"
echo "on a GPU machine, beside the archive:"
echo "  python3 -c 'import tarfile; tarfile.open(\"$name.tar.xz\").extractall()' && $name/run.sh"
