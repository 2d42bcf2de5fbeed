#!/usr/bin/env bash
# End-to-end checks of `llmw generate` and `llmw tokenize`: greedy text equals
# llama.cpp's on the same model, special-token text in prompts is parsed unless
# --special-as-text, and bad input gives one clear error line and exit status 1.
# Usage: llmw_cli_test.sh LLMW_BINARY SOURCE_DIR
set -uo pipefail
LLMW="$1"
SOURCE_DIR="$2"
MODEL="${LLMW_SMOLLM2_GGUF:-$HOME/.cache/llm-worker/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
err_file="$(mktemp)"
trap 'rm -f "$err_file"' EXIT

# expect_error NAME EXPECTED_SUBSTRING ARGS...
expect_error() {
  local name="$1" expected="$2"
  shift 2
  local err rc
  err="$("$LLMW" generate "$@" 2>&1 >/dev/null)"
  rc=$?
  [[ $rc -eq 1 ]] || fail "$name: exit status $rc, expected 1"
  local errors
  errors="$(grep -c '^llmw: error:' <<<"$err")"
  [[ "$errors" -eq 1 ]] || fail "$name: expected one 'llmw: error:' line, got: $err"
  grep -qF -- "$expected" <<<"$err" || fail "$name: message lacks '$expected': $err"
}

expect_error "missing file" "No such file" --model /nonexistent/model.gguf --prompt hi
expect_error "unknown flag" "unknown flag --bogus" --model x --prompt hi --bogus 1
expect_error "missing prompt" "missing required flag --prompt" --model x
expect_error "bad number" "--max-tokens expects an integer" --model x --prompt hi --max-tokens ten
not_gguf="$(mktemp)"
echo "this is not a model" >"$not_gguf"
expect_error "not a GGUF file" "bad magic" --model "$not_gguf" --prompt hi
rm -f "$not_gguf"
empty_dir="$(mktemp -d)"
expect_error "directory without config.json" "config.json: cannot open" --model "$empty_dir" --prompt hi
echo '{"model_type": "bert"}' >"$empty_dir/config.json"
expect_error "unsupported model_type" "unsupported model_type 'bert'; supported: gemma3_text" \
  --model "$empty_dir" --prompt hi
rm -rf "$empty_dir"
expect_error "random model over a server" "--random-model is local only" \
  --random-model smollm2-135m --server localhost:1 --prompt hi
expect_error "model and random model" "give --model or --random-model, not both" \
  --model x --random-model smollm2-135m --prompt hi
expect_error "dtype without random model" "--dtype goes with --random-model" \
  --model x --dtype q4_0 --prompt hi
expect_error "unknown random shape" "unknown model shape" --random-model no-such-shape --prompt hi
expect_error "unknown dtype" "q3_x" --random-model smollm2-135m --dtype q3_x --prompt hi

# A random-weight model at a real shape generates without any file (the GPU check uses it).
out="$("$LLMW" generate --random-model smollm2-135m --dtype q4_0 --prompt "Hello world" \
  --max-tokens 4 --ignore-eos --temperature 0 2>&1)" || fail "--random-model: $out"
grep -q "generated 4 tokens" <<<"$out" || fail "--random-model: $out"

# Every tiny checkpoint (Hugging Face directories and their GGUF conversions) generates (past
# EOS: a sampled end-of-generation token would end it early).
for model in "$SOURCE_DIR"/tests/fixtures/hf_tiny/*/ "$SOURCE_DIR"/tests/fixtures/hf_tiny/*.gguf; do
  out="$("$LLMW" generate --model "$model" --prompt "Hello world" --max-tokens 4 --ignore-eos 2>&1)" ||
    fail "generate on $model: $out"
  grep -q "generated 4 tokens" <<<"$out" || fail "generate on $model: $out"
done

# Sampling flags left out take the checkpoint's generation_config.json: with do_sample false any
# seed gives the greedy text; with a high temperature there, two seeds differ.
tiny="$(mktemp -d)"
cp -r "$SOURCE_DIR/tests/fixtures/hf_tiny/llama/." "$tiny"
sample() { "$LLMW" generate --model "$tiny" --prompt "Hello world" --max-tokens 16 --ignore-eos --seed "$1" 2>/dev/null; }
echo '{"do_sample": false, "eos_token_id": 909}' >"$tiny/generation_config.json"
greedy="$("$LLMW" generate --model "$tiny" --prompt "Hello world" --max-tokens 16 --ignore-eos --temperature 0 2>/dev/null)"
[[ -n "$greedy" && "$(sample 1)" == "$greedy" && "$(sample 2)" == "$greedy" ]] ||
  fail "do_sample false in generation_config.json did not make generation greedy"
echo '{"do_sample": true, "temperature": 50.0, "eos_token_id": 909}' >"$tiny/generation_config.json"
[[ "$(sample 1)" != "$(sample 2)" ]] || fail "generation_config.json's temperature 50: two seeds gave the same text"
rm -rf "$tiny"

if [[ ! -f "$MODEL" ]]; then
  if [[ "${LLMW_REQUIRE_MODELS:-}" == "1" ]]; then fail "model $MODEL missing"; fi
  echo "model $MODEL missing: skipping the model checks"
else
  expect_error "context overflow" "exceeds the model's context length of 8192" \
    --model "$MODEL" --prompt hi --max-tokens 9000
  expect_error "bad top-p" "top_p must be in (0, 1]" --model "$MODEL" --prompt hi --top-p 1.5

  # Special-token text in a prompt is those tokens (<|im_start|> is id 1), unless
  # --special-as-text asks for the literal reading; tokenize and generate agree.
  chat=$'<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'
  parsed="$("$LLMW" tokenize --model "$MODEL" --prompt "$chat")" || fail "tokenize: $parsed"
  literal="$("$LLMW" tokenize --model "$MODEL" --prompt "$chat" --special-as-text)" ||
    fail "tokenize --special-as-text: $literal"
  [[ "$(head -1 <<<"$parsed" | cut -f1)" == 1 ]] || fail "<|im_start|> not parsed: $parsed"
  [[ "$(head -1 <<<"$literal" | cut -f1)" != 1 ]] || fail "--special-as-text parsed: $literal"
  for mode in parsed literal; do
    flag=()
    [[ $mode == literal ]] && flag=(--special-as-text)
    want="$(wc -l <<<"${!mode}")"
    err="$("$LLMW" generate --model "$MODEL" --prompt "$chat" --max-tokens 1 --temperature 0 \
      "${flag[@]}" 2>&1 >/dev/null)"
    grep -q "prompt $want tokens" <<<"$err" || fail "generate ($mode) prompt is not $want tokens: $err"
  done

  # Our greedy continuation of the "code" prompt equals llama.cpp's for all
  # 32 tokens; the CLI must print exactly that text.
  fixture="$SOURCE_DIR/tests/fixtures/smollm2/reference.json"
  field() { python3 -c 'import json,sys; c=[c for c in json.load(open(sys.argv[1]))["cases"] if c["name"]=="code"][0]; sys.stdout.write(c[sys.argv[2]])' "$fixture" "$1"; }
  prompt="$(field prompt; echo x)"
  prompt="${prompt%x}"
  want="$(field greedy_text)"
  got="$("$LLMW" generate --model "$MODEL" --prompt "$prompt" --temperature 0 --max-tokens 32 2>/dev/null)"
  [[ "$got" == "$want" ]] || fail "greedy text differs from llama.cpp's:
--- got
$got
--- want
$want"

  # A stop string ends the text right before it, as on a worker.
  stop="${want:20:6}"
  got="$("$LLMW" generate --model "$MODEL" --prompt "$prompt" --temperature 0 --max-tokens 32 \
    --stop "$stop" 2>"$err_file")"
  [[ "$got" == "${want%%"$stop"*}" ]] || fail "--stop '$stop': got '$got'"
  grep -q "FINISH_REASON_STOP (stop string)" "$err_file" || fail "--stop: $(cat "$err_file")"
fi

if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all llmw CLI checks passed"
