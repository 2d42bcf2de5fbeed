# Shared by the shell-level worker tests (sourced): the model, failure
# counting, a temporary folder, and starting llm-worker on free ports.

MODEL="${LLMW_SMOLLM2_GGUF:-$HOME/.cache/llm-worker/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# require_model [PATH]: exits the test (skipped, or failed under LLMW_REQUIRE_MODELS=1) without
# the model file (default $MODEL).
require_model() {
  local path="${1:-$MODEL}"
  [[ -f "$path" ]] && return
  if [[ "${LLMW_REQUIRE_MODELS:-}" == "1" ]]; then echo "FAIL: model $path missing"; exit 1; fi
  echo "model $path missing: skipped"
  exit 0
}

# Sets `work` to a new temporary folder; on exit the worker (worker_pid) is killed and the
# folder removed.
make_work_dir() {
  work="$(mktemp -d)"
  trap 'cleanup_work' EXIT
}
cleanup_work() {
  [[ -n "${worker_pid:-}" ]] && kill -9 "$worker_pid" 2>/dev/null
  rm -rf "$work"
}

# start_worker LOG ARGS...: starts llm-worker ($WORKER) on 127.0.0.1:0 with
# SmolLM2 and ARGS; sets worker_pid, port and metrics_port (empty when off).
start_worker() {
  local log="$1"
  shift
  "$WORKER" --model "smollm2=$MODEL" --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
  worker_pid=$!
  for _ in $(seq 1 300); do
    grep -qs "serving on port" "$log" && break
    kill -0 "$worker_pid" 2>/dev/null || break
    sleep 0.1
  done
  port="$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$log")"
  metrics_port="$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' "$log")"
  if [[ -z "$port" ]]; then
    cat "$log"
    echo "FAIL: the worker did not start"
    exit 1
  fi
}

# Ends the test: prints `log` and fails when any check failed.
finish() {
  if ((failures > 0)); then
    cat "$1"
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}
