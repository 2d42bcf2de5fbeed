#!/usr/bin/env bash
# Structured output end to end: one llm-worker serving SmolLM2 and Gemma 3 270M, driven by
# `llmw generate --server` with --json-schema and --grammar at temperature 1, eight clients at a
# time so that the worker batches them. Every output must finish with STOP and be valid for tools
# independent of the worker (tests/structured/validate_outputs.py): jsonschema (Draft 2020-12,
# formats checked) for schemas, Lark with an equivalent copy of each grammar for grammars.
# Invalid schemas and grammars are refused with INVALID_ARGUMENT and the place of the problem,
# and the worker keeps serving.
#
# Cases per model: LLMW_STRUCTURED_SCHEMAS generated schemas (tests/structured/make_schemas.py,
# seed 1; default 100) with one seed, and the real-world schemas (tests/fixtures/schemas/real) and
# the grammars (tests/fixtures/grammars) with three seeds each; and for SmolLM2 (which has a chat
# template) JSON mode (--json-object, checked as {"type": "object"}) with a prompt that asks for
# a small object, three seeds. The fixtures are bounded to end within about 300 tokens: every
# output must finish within MAX_TOKENS, and those longer than BUDGET_TOKENS are listed.
# LLMW_STRUCTURED_RESULTS=FILE keeps the outputs (validate_outputs.py's JSON lines) there.
# Usage: structured_output_test.sh LLM_WORKER LLMW SOURCE_DIR
# (`python` on PATH must have the packages of scripts/setup-test-tools.sh.)
set -uo pipefail
WORKER="$1"
LLMW="$2"
SOURCE_DIR="$3"
source "$(dirname "$0")/worker_test_lib.sh"
GEMMA="${LLMW_GEMMA3_GGUF:-$HOME/.cache/llm-worker/models/gemma-3-270m-q4_k_m.gguf}"
require_model
require_model "$GEMMA"
GENERATED_SCHEMAS="${LLMW_STRUCTURED_SCHEMAS:-100}"
CLIENTS=8
MAX_TOKENS=400
BUDGET_TOKENS=300
SEEDS=(1 2 3)
MODELS=(smollm2 gemma3)
# The prompt is a chat message where the model has a chat template; this Gemma 3 GGUF has none.
declare -A HAS_CHAT_TEMPLATE=([smollm2]=1 [gemma3]=0)
started=$SECONDS

make_work_dir
log="$work/worker.log"

python "$SOURCE_DIR/tests/structured/make_schemas.py" --seed 1 --count "$GENERATED_SCHEMAS" \
  --out "$work/schemas" || fail "make_schemas.py"

start_worker "$log" --model "gemma3=$GEMMA" --metrics-listen 127.0.0.1:0 --max-running "$CLIENTS" \
  --kv-cache-memory 400000000
server="127.0.0.1:$port"

# expect_refusal NAME PATTERN FLAG FILE: the request is refused with a message matching PATTERN
# (the field, the problem and its place).
expect_refusal() {
  local name="$1" where="$2"
  shift 2
  "$LLMW" generate --server "$server" --model smollm2 "$@" --prompt "hi" --max-tokens 8 \
    >/dev/null 2>"$work/err" && fail "$name was accepted"
  grep -qE -- "$where" "$work/err" || fail "$name: no '$where' in: $(cat "$work/err")"
}
printf 'root ::= expr\nexpr ::= expr "+" term | term\nterm ::= [0-9]\n' >"$work/left.gbnf"
expect_refusal "a left-recursive grammar" \
  "response_format.grammar: rule 'expr' is left-recursive.* at 2:1\b" \
  --grammar "$work/left.gbnf"
# Column 40 of line 2 is the '}' after the trailing comma.
printf '{"type": "object",\n "properties": {"a": {"type": "string",}}}\n' >"$work/bad.json"
expect_refusal "a schema that is not JSON" \
  "response_format.json_schema: .*(line 2, column 40|2:40)\b" \
  --json-schema "$work/bad.json"
echo '{"type": "object", "properties": {"tags": {"type": "array", "uniqueItems": true}}}' \
  >"$work/unique.json"
expect_refusal "an unenforceable keyword" \
  "response_format.json_schema at /properties/tags/uniqueItems: .*uniqueItems" \
  --json-schema "$work/unique.json"
# All three as INVALID_ARGUMENT on the wire (llmw prints only the message).
curl -s "http://127.0.0.1:$metrics_port/metrics" >"$work/metrics" || fail "no /metrics"
grep -q '^llmw_request_errors_total{code="INVALID_ARGUMENT",model="smollm2"} 3$' "$work/metrics" ||
  fail "refusals are not INVALID_ARGUMENT: $(grep llmw_request_errors "$work/metrics")"

# The cases: one line each, "MODEL NAME KIND SPEC SEED" (KIND: schema, grammar or json_object,
# whose SPEC is the schema its outputs are checked against).
echo '{"type": "object"}' >"$work/object.json"
cases="$work/cases"
for model in "${MODELS[@]}"; do
  for schema in "$work"/schemas/*.json; do
    echo "$model $(basename "$schema" .json) schema $schema 1"
  done
  for seed in "${SEEDS[@]}"; do
    for schema in "$SOURCE_DIR"/tests/fixtures/schemas/real/*.json; do
      echo "$model $(basename "$schema" .json) schema $schema $seed"
    done
    for grammar in "$SOURCE_DIR"/tests/fixtures/grammars/*.gbnf; do
      echo "$model $(basename "$grammar" .gbnf) grammar $grammar $seed"
    done
    if ((HAS_CHAT_TEMPLATE[$model])); then echo "$model json_object json_object $work/object.json $seed"; fi
  done
done >"$cases"

# run_case INDEX MODEL NAME KIND SPEC SEED: writes $work/out/INDEX.{out,err,rc}.
run_case() {
  local index="$1" model="$2" name="$3" kind="$4" spec="$5" seed="$6" format prompt chat=()
  ((HAS_CHAT_TEMPLATE[$model])) && chat=(--chat)
  case "$kind" in
    schema)
      format=(--json-schema "$spec")
      prompt="Reply with only a JSON value, with realistic content, that matches this JSON Schema:"
      prompt+=$'\n'"$(tr -s ' \n' ' ' <"$spec")"
      ;;
    json_object)
      format=(--json-object)
      prompt="Describe a cat as a JSON object with the keys name and age."
      ;;
    grammar)
      format=(--grammar "$spec")
      prompt="Reply with only text in the language of this grammar (GBNF, starting at root):"
      prompt+=$'\n'"$(cat "$spec")"
      ;;
  esac
  "$LLMW" generate --server "$server" --model "$model" "${chat[@]}" "${format[@]}" \
    --temperature 1 --seed "$seed" --max-tokens "$MAX_TOKENS" --prompt "$prompt" \
    >"$work/out/$index.out" 2>"$work/out/$index.err"
  echo $? >"$work/out/$index.rc"
}

# Runs every case, CLIENTS at a time. In a subshell, whose jobs are only the clients.
run_cases() (
  local index=0
  while read -r model name kind spec seed; do
    while (($(jobs -rp | wc -l) >= CLIENTS)); do wait -n; done
    run_case "$index" "$model" "$name" "$kind" "$spec" "$seed" &
    index=$((index + 1))
  done
  wait
)

mkdir "$work/out"
generate_started=$SECONDS
run_cases <"$cases"
echo "generated $(wc -l <"$cases") outputs in $((SECONDS - generate_started)) s"

# One JSON line per case for validate_outputs.py. stdout is the text plus the newline llmw
# prints after it; stderr names the finish reason and counts the tokens.
python - "$cases" "$work/out" "$BUDGET_TOKENS" >"$work/results.jsonl" <<'EOF' ||
import json, pathlib, re, sys
cases, out, budget = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3])
long_outputs = []
for index, line in enumerate(open(cases)):
    model, name, kind, spec, seed = line.split()
    text = (out / f"{index}.out").read_text(encoding="utf-8", errors="replace")
    err = (out / f"{index}.err").read_text(encoding="utf-8", errors="replace")
    rc = (out / f"{index}.rc").read_text().strip()
    finish = re.search(r"^llmw: FINISH_REASON_([A-Z]+) .* generated ([0-9]+) tokens", err, re.M)
    record = {"case": f"{model}/{name}/seed{seed}", "model": model,
              "output": text[:-1] if text.endswith("\n") else text,
              "finish": finish.group(1).lower() if finish and rc == "0" else
                        f"error (exit {rc}): {err.strip()}"}
    if finish and int(finish.group(2)) > budget:
        long_outputs.append(f"{record['case']} ({finish.group(2)})")
    if kind == "grammar":
        record.update(grammar=spec, lark=spec[:-len(".gbnf")] + ".lark")
    else:
        record["schema"] = spec
    print(json.dumps(record))
print(f"outputs over {budget} tokens: {', '.join(long_outputs) or 'none'}", file=sys.stderr)
EOF
  fail "collecting results"
[[ -n "${LLMW_STRUCTURED_RESULTS:-}" ]] && cp "$work/results.jsonl" "$LLMW_STRUCTURED_RESULTS"
python "$SOURCE_DIR/tests/structured/validate_outputs.py" "$work/results.jsonl" ||
  fail "constrained outputs failed validation (above)"

# Still serving after the refusals and the load.
kill -0 "$worker_pid" 2>/dev/null || fail "the worker exited"
"$LLMW" generate --server "$server" --model gemma3 --prompt "Hello" --max-tokens 4 \
  >/dev/null 2>"$work/err" || fail "the worker stopped serving: $(cat "$work/err")"

echo "wall time $((SECONDS - started)) s"
finish "$log"
