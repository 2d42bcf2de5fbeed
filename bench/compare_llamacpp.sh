#!/usr/bin/env bash
# Prefill (256-token prompt) and decode (128 tokens) speed of llm-worker and
# of llama.cpp on the same GGUF with the same thread count, run alternately,
# then medians and the ratio ours / llama.cpp. Usage:
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

ours=() theirs=()
for ((i = 1; i <= ROUNDS; i++)); do
  ours+=("$("$BUILD_DIR/bench/generate_speed" "$MODEL" $PROMPT_TOKENS $GEN_TOKENS "$THREADS")")
  theirs+=("$("$VENV/bin/python" bench/llamacpp_speed.py "$MODEL" $PROMPT_TOKENS $GEN_TOKENS "$THREADS")")
  echo "round $i: llmw ${ours[-1]}  llama.cpp ${theirs[-1]}" >&2
done

python3 - "$THREADS" "${#ours[@]}" "${ours[@]}" "${theirs[@]}" <<'PY'
import json, statistics, sys
threads, n = sys.argv[1], int(sys.argv[2])
ours = [json.loads(s) for s in sys.argv[3:3 + n]]
theirs = [json.loads(s) for s in sys.argv[3 + n:]]
print(f"threads {threads}, {n} rounds, medians (tokens/s):")
for key, label in (("prefill_tok_s", "prefill 256"), ("decode_tok_s", "decode 128")):
    a = statistics.median(r[key] for r in ours)
    b = statistics.median(r[key] for r in theirs)
    print(f"  {label:12s} llmw {a:9.1f}   llama.cpp {b:9.1f}   ratio {a / b:.2f}")
PY
