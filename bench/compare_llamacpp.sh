#!/usr/bin/env bash
# Prefill (256-token prompt) and decode (128 tokens after it) speed of
# llm-worker and of llama.cpp's own C++ benchmark, llama-bench, built from the
# llama.cpp source of the reference (scripts/setup-reference.sh), on the same
# GGUF with the same thread count. llama-bench measures decode at the same
# context depth as ours (-d 256: 128 tokens after a 256-token prompt). The two
# run alternately; prints medians and the ratio ours / llama.cpp. Usage:
#   bench/compare_llamacpp.sh [MODEL] [ROUNDS] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL="${1:-$(scripts/fetch-model.sh)}"
ROUNDS="${2:-5}"
THREADS="${3:-$(nproc)}"
PROMPT_TOKENS=256
GEN_TOKENS=128
BUILD_DIR="${LLMW_BUILD_DIR:-build}"

VENV="$(scripts/setup-reference.sh)"
cmake --build "$BUILD_DIR" --target generate_speed > /dev/null

# llama-bench's tokens/s for one test, one repetition.
llama_bench() {
  "$VENV/bin/llama-bench" -m "$MODEL" -t "$THREADS" -r 1 -o json "$@" 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["avg_ts"])'
}

ours=() prefill=() decode=()
for ((i = 1; i <= ROUNDS; i++)); do
  ours+=("$("$BUILD_DIR/bench/generate_speed" "$MODEL" $PROMPT_TOKENS $GEN_TOKENS "$THREADS")")
  prefill+=("$(llama_bench -p $PROMPT_TOKENS -n 0 -d 0)")
  decode+=("$(llama_bench -p 0 -n $GEN_TOKENS -d $PROMPT_TOKENS)")
  echo "round $i: llmw ${ours[-1]}  llama-bench prefill ${prefill[-1]} decode ${decode[-1]}" >&2
done

python3 - "$THREADS" "${#ours[@]}" "${ours[@]}" "${prefill[@]}" "${decode[@]}" <<'PY'
import json, statistics, sys
threads, n = sys.argv[1], int(sys.argv[2])
ours = [json.loads(s) for s in sys.argv[3:3 + n]]
theirs = {"prefill_tok_s": [float(s) for s in sys.argv[3 + n:3 + 2 * n]],
          "decode_tok_s": [float(s) for s in sys.argv[3 + 2 * n:3 + 3 * n]]}
print(f"threads {threads}, {n} rounds, medians (tokens/s):")
for key, label in (("prefill_tok_s", "prefill 256"), ("decode_tok_s", "decode 128 at depth 256")):
    a = statistics.median(r[key] for r in ours)
    b = statistics.median(theirs[key])
    print(f"  {label:24s} llmw {a:9.1f}   llama.cpp {b:9.1f}   ratio {a / b:.2f}")
PY
