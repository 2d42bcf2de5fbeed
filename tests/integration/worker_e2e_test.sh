#!/usr/bin/env bash
# The real llm-worker binary with SmolLM2, driven by `llmw generate --server`:
# greedy text over gRPC equals llama.cpp's, errors carry gRPC codes, /metrics
# counts the requests and passes promtool, and SIGTERM lets live streams
# finish before the worker exits 0 (past the drain timeout they end UNAVAILABLE).
# Usage: worker_e2e_test.sh LLM_WORKER LLMW SOURCE_DIR
set -uo pipefail
WORKER="$1"
LLMW="$2"
SOURCE_DIR="$3"
source "$(dirname "$0")/worker_test_lib.sh"
require_model

make_work_dir
log="$work/worker.log"

start_worker "$log" --metrics-listen 127.0.0.1:0 --kv-cache-memory 200000000
server="127.0.0.1:$port"

# Greedy over gRPC equals llama.cpp's continuation of the "code" prompt.
fixture="$SOURCE_DIR/tests/fixtures/smollm2/reference.json"
field() { python3 -c 'import json,sys; c=[c for c in json.load(open(sys.argv[1]))["cases"] if c["name"]=="code"][0]; sys.stdout.write(c[sys.argv[2]])' "$fixture" "$1"; }
prompt="$(field prompt; echo x)"
prompt="${prompt%x}"
want="$(field greedy_text)"
got="$("$LLMW" generate --server "$server" --prompt "$prompt" --temperature 0 --max-tokens 32 2>"$work/err")"
[[ "$got" == "$want" ]] || fail "greedy text over gRPC differs: got '$got', want '$want'"
grep -q "FINISH_REASON_LENGTH" "$work/err" || fail "no LENGTH finish: $(cat "$work/err")"

# Errors carry their gRPC meaning.
"$LLMW" generate --server "$server" --model nope --prompt hi 2>"$work/err" >/dev/null
grep -q "unknown model 'nope'; this worker serves: smollm2" "$work/err" || fail "unknown model: $(cat "$work/err")"
"$LLMW" generate --server "$server" --prompt hi --max-tokens 9000 2>"$work/err" >/dev/null
grep -q "exceeds the model's context length" "$work/err" || fail "context: $(cat "$work/err")"

# Metrics count the finished request and parse as Prometheus text.
curl -s "http://127.0.0.1:$metrics_port/metrics" >"$work/metrics" || fail "no /metrics"
grep -q '^llmw_requests_total{model="smollm2",reason="length"} 1$' "$work/metrics" ||
  fail "llmw_requests_total missing: $(grep llmw_requests "$work/metrics")"
grep -q '^llmw_generation_tokens_total{model="smollm2"} 32$' "$work/metrics" || fail "generation tokens"
if command -v promtool >/dev/null; then
  promtool check metrics <"$work/metrics" >"$work/promtool" 2>&1 || fail "promtool: $(cat "$work/promtool")"
fi

# The same sampled request locally and over gRPC gives the same text: one engine, one request
# conversion, the same defaults.
sampled=(--prompt "Tell me a story about a dragon" --temperature 0.9 --top-p 0.95 --seed 11
  --repetition-penalty 1.1 --max-tokens 24)
remote="$("$LLMW" generate --server "$server" "${sampled[@]}" 2>"$work/err")" || fail "remote: $(cat "$work/err")"
local_text="$("$LLMW" generate --model "$MODEL" --threads 1 "${sampled[@]}" 2>"$work/err")" ||
  fail "local: $(cat "$work/err")"
[[ -n "$remote" && "$remote" == "$local_text" ]] ||
  fail "local and remote text differ: local '$local_text', remote '$remote'"

# Over gRPC as locally: special-token text is parsed (<|im_start|> is id 1) unless
# --special-as-text; Generate runs the prompt Tokenize gives.
chat=$'<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'
for flag in "" --special-as-text; do
  remote="$("$LLMW" tokenize --server "$server" --prompt "$chat" $flag)" || fail "tokenize: $remote"
  local_ids="$("$LLMW" tokenize --model "$MODEL" --prompt "$chat" $flag)"
  [[ "$remote" == "$local_ids" ]] || fail "tokenize $flag over gRPC differs from local"
  n="$(wc -l <<<"$remote")"
  "$LLMW" generate --server "$server" --prompt "$chat" --max-tokens 1 $flag 2>"$work/err" >/dev/null
  grep -q "prompt $n tokens" "$work/err" || fail "generate $flag: prompt is not $n tokens: $(cat "$work/err")"
done
[[ "$(head -1 <<<"$local_ids" | cut -f1)" != 1 ]] || fail "--special-as-text parsed <|im_start|>"

# SIGTERM during 4 live streams: they complete, new calls are refused, exit 0.
client_pids=()
for i in 1 2 3 4; do
  "$LLMW" generate --server "$server" --prompt "Story number $i:" --temperature 0 \
    --max-tokens 150 >"$work/long$i" 2>"$work/long$i.err" &
  client_pids+=($!)
done
for _ in $(seq 1 200); do [[ -s "$work/long4" && -s "$work/long1" ]] && break; sleep 0.05; done
kill -TERM "$worker_pid"
sleep 0.2
"$LLMW" generate --server "$server" --prompt "late" --max-tokens 2 >/dev/null 2>"$work/late.err" &&
  fail "a new request was served while draining"
grep -q "draining" "$work/late.err" || fail "late request not refused as draining: $(cat "$work/late.err")"
for i in 1 2 3 4; do
  wait "${client_pids[$((i - 1))]}" || fail "live stream $i failed during drain: $(cat "$work/long$i.err")"
  grep -qE "FINISH_REASON_(LENGTH|STOP)" "$work/long$i.err" ||
    fail "live stream $i was cut: $(cat "$work/long$i.err")"
done
wait "$worker_pid"
rc=$?
worker_pid=""
[[ $rc -eq 0 ]] || fail "worker exit status $rc after SIGTERM"
grep -q "draining" "$log" || fail "no drain in the log"

# A stream longer than the drain timeout ends with UNAVAILABLE; the worker still exits 0.
start_worker "$work/short-drain.log" --metrics-listen off --kv-cache-memory 200000000 \
  --drain-timeout 1
"$LLMW" generate --server "127.0.0.1:$port" --prompt "Forever" --temperature 0 --max-tokens 4000 \
  --ignore-eos \
  >/dev/null 2>"$work/cut.err" &
client_pid=$!
sleep 1
kill -TERM "$worker_pid"
wait "$client_pid" && fail "a stream past the drain timeout ended OK"
grep -q "shut down before this request finished" "$work/cut.err" ||
  fail "no UNAVAILABLE message: $(cat "$work/cut.err")"
wait "$worker_pid"
rc=$?
worker_pid=""
[[ $rc -eq 0 ]] || fail "worker exit status $rc after the drain timeout"

finish "$log"
