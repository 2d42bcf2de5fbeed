#!/usr/bin/env bash
# The main job: installs what is missing, builds, fetches the default model
# (SmolLM2-135M-Instruct), starts llm-worker on localhost, waits until it
# serves, streams a sample chat answer through `llmw`, then keeps the worker
# in the foreground (Ctrl-C drains and stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
BUILD_DIR="${LLMW_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMW_CUDA="${LLMW_CUDA:-AUTO}" \
  >/dev/null
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target llm-worker llmw >/dev/null
MODEL="$(scripts/fetch-model.sh)"

LISTEN="${LLMW_LISTEN:-127.0.0.1:50051}"
METRICS="${LLMW_METRICS_LISTEN:-127.0.0.1:9100}"
LOG="$(mktemp)"
"$BUILD_DIR/worker/llm-worker" --model "smollm2=$MODEL" --listen "$LISTEN" \
  --metrics-listen "$METRICS" 2> >(tee "$LOG" >&2) &
worker=$!
trap 'kill -INT $worker 2>/dev/null; wait $worker' INT TERM

for _ in $(seq 1 600); do
  grep -q "serving on port" "$LOG" && break
  kill -0 "$worker" 2>/dev/null || { echo "run.sh: llm-worker did not start" >&2; exit 1; }
  sleep 0.1
done

PROMPT="${1:-Explain in three sentences why the sky is blue.}"
echo "run.sh: asking: $PROMPT" >&2
"$BUILD_DIR/tools/llmw" generate --server "$LISTEN" --chat --prompt "$PROMPT" \
  --max-tokens 200 --temperature 0.2 --seed 42
echo "run.sh: llm-worker serves gRPC on $LISTEN and metrics on http://$METRICS/metrics;" \
  "Ctrl-C stops it" >&2
wait "$worker"
