#!/usr/bin/env bash
# The GPU check, run on a machine with an NVIDIA GPU from the folder tests/gpu/bundle.sh made:
# every GPU test (a skip is a failure here) and llmw on the GPU against the CPU ("tests"), then
# the benchmarks: the engine beside the PyTorch peer in the same call, attention and the mat-vec
# kernels ("bench"). Prints the benchmark tables, the checks and "N passed, M failed" last; logs
# go under $OUT (or ./logs).
#   run.sh [all|tests|bench]
set -uo pipefail
mode="${1:-all}"
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${OUT:-$dir/logs}"
mkdir -p "$out"
export LD_LIBRARY_PATH="$dir/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export LLMW_REQUIRE_GPU=1 LLMW_SOURCE_DIR="$dir"
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed (see $out/nvidia-smi.txt)"

passed=0 failed=0 lines=() bench=()
record() {  # NAME OK(0/1) DETAIL
  if [[ "$2" == 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  lines+=("$(printf '%-44s %s  %s' "$1" "$([[ "$2" == 0 ]] && echo pass || echo FAIL)" "$3")")
}

if [[ "$mode" == all || "$mode" == tests ]]; then
  for test in "$dir"/bin/*_test; do
    name="$(basename "$test")"
    start=$SECONDS
    timeout 900 "$test" --gtest_color=no >"$out/$name.log" 2>&1
    status=$?
    summary="$(grep -E '^\[  (PASSED|FAILED|SKIPPED) +\] [0-9]+ test' "$out/$name.log" |
      sed -E 's/^\[ +([A-Z]+) +\] ([0-9]+) tests?.*/\2 \1/' | tr '\n' ' ')"
    # A skipped test means the GPU was not usable: count it as a failure.
    grep -qE '^\[  SKIPPED +\]' "$out/$name.log" && status=1
    record "$name" "$status" "$summary($((SECONDS - start)) s)"
  done

  # llmw on the GPU gives the CPU's greedy tokens on tiny checkpoints.
  for model in llama qwen2-Q8_0.gguf gemma3-Q4_0.gguf phi2-F16.gguf; do
    path="$dir/tests/fixtures/hf_tiny/$model"
    args=(generate --model "$path" --prompt "Hello world" --temperature 0 --max-tokens 8 --ignore-eos)
    gpu="$("$dir/bin/llmw" "${args[@]}" --device cuda 2>"$out/llmw-$model-cuda.err")"
    gpu_status=$?
    cpu="$("$dir/bin/llmw" "${args[@]}" --device cpu 2>"$out/llmw-$model-cpu.err")"
    same=1
    [[ $gpu_status -eq 0 && -n "$gpu" && "$gpu" == "$cpu" ]] && same=0
    record "llmw --device cuda $model" "$same" "cuda '$gpu' cpu '$cpu'"
  done

  # Grammar-constrained greedy output: the mask applied on the GPU before the candidates are
  # picked gives the CPU's tokens, and a string of the grammar.
  printf 'root ::= [a-z ]{1,12} "." [0-9]{2}\n' >"$out/format.gbnf"
  for model in qwen2-Q8_0.gguf gemma3-Q4_0.gguf; do
    path="$dir/tests/fixtures/hf_tiny/$model"
    args=(generate --model "$path" --prompt "Hello world" --temperature 0 --max-tokens 24
      --grammar "$out/format.gbnf")
    gpu="$("$dir/bin/llmw" "${args[@]}" --device cuda 2>"$out/llmw-format-$model-cuda.err")"
    gpu_status=$?
    cpu="$("$dir/bin/llmw" "${args[@]}" --device cpu 2>"$out/llmw-format-$model-cpu.err")"
    same=1
    [[ $gpu_status -eq 0 && "$gpu" == "$cpu" && "$gpu" =~ ^[a-z\ ]{1,12}\.[0-9]{2}$ ]] && same=0
    record "llmw --grammar --device cuda $model" "$same" "cuda '$gpu' cpu '$cpu'"
  done

  # A random-weight model at a real shape generates on the GPU from llmw.
  rand="$("$dir/bin/llmw" generate --random-model smollm2-135m --dtype q4_0 --device cuda \
    --prompt "Hello world" --temperature 0 --max-tokens 8 --ignore-eos 2>&1)"
  rand_status=$?
  grep -q "generated 8 tokens" <<<"$rand" || rand_status=1
  record "llmw --random-model --device cuda" "$rand_status" "$(tail -1 <<<"$rand")"
fi

if [[ "$mode" == all || "$mode" == bench ]]; then
  # The benchmark: random weights at real shapes (decode at 1 to 256 streams, prefill of 2,048
  # tokens, weight bandwidth against the device's copy bandwidth; one configuration also without
  # CUDA graphs, to show what they save), then the peer on the same shapes.
  for config in "smollm2-135m bf16 1,8,64,256 2048" "smollm2-135m bf16 1,64 0 --enforce-eager" \
    "smollm2-135m q4_0 1,64 0" "llama3.1-8b bf16 1,8,64 2048" "llama3.1-8b q4_0 1,8 0" \
    "llama3.1-8b q4_k 1 0" "llama3.1-8b q8_0 1 0"; do
    read -r shape dtype streams prefill extra <<<"$config"
    name="$shape $dtype${extra:+ $extra}"
    log="$out/bench-$shape-$dtype${extra:+-eager}.log"
    timeout 300 "$dir/bin/engine_bench" --device cuda --random-model "$shape" --dtype "$dtype" \
      --streams "$streams" --gen-tokens 64 --prefill-tokens "$prefill" $extra >"$log" 2>&1 ||
      echo "bench $name failed" >>"$log"
    while read -r line; do bench+=("$name: $line"); done < <(grep -E '^(streams|prefill|device)|failed' "$log")
  done
  if [[ -f "$dir/torch_peer.py" ]]; then
    timeout 300 python3 "$dir/torch_peer.py" --shapes smollm2-135m,llama3.1-8b --batches 1,64 \
      >"$out/peer.log" 2>&1 || echo "peer failed" >>"$out/peer.log"
    while read -r line; do bench+=("peer: $line"); done < <(grep -vE '^\s*$' "$out/peer.log" | tail -20)
  fi

  # Attention alone: split decode GB/s and prefill TFLOP/s.
  timeout 300 "$dir/bin/attention_bench" >"$out/attention_bench.log" 2>&1 ||
    echo "attention_bench failed" >>"$out/attention_bench.log"
  while read -r line; do bench+=("$line"); done < <(grep -E '^attention|failed' "$out/attention_bench.log")

  # The mat-vec kernels against cuBLAS's bf16 GEMV and the copy bandwidth (a benchmark: whatever
  # it prints, it never fails the check).
  timeout 300 "$dir/bin/cuda_matvec_bench" >"$out/cuda_matvec_bench.log" 2>&1 ||
    echo "cuda_matvec_bench did not finish (exit $?)" >>"$out/cuda_matvec_bench.log"
fi

echo
echo "== benchmark (tok/s, see $out/bench-*.log)"
printf '%s\n' "${bench[@]}"
echo
if [[ -f "$out/cuda_matvec_bench.log" ]]; then
  echo "== mat-vec (see $out/cuda_matvec_bench.log)"
  cat "$out/cuda_matvec_bench.log"
  echo
fi
echo "== checks"
printf '%s\n' "${lines[@]}"
echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
