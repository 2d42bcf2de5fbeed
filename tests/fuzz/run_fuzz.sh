#!/usr/bin/env bash
# Runs one fuzz target of tests/fuzz for a bounded time, from a seed corpus made
# of the committed fixtures. Exits non-zero when the target crashes, leaks or
# times out; the input that did it is left in WORK_DIR.
#   tests/fuzz/run_fuzz.sh BINARY SECONDS [WORK_DIR]
set -euo pipefail
binary="$1"
seconds="$2"
source_dir="$(cd "$(dirname "$0")/../.." && pwd)"
fixtures="$source_dir/tests/fixtures"
name="$(basename "$binary")"
work="${3:-$(mktemp -d)}"
corpus="$work/corpus"
mkdir -p "$corpus"

# seed NAME SELECTOR_BYTE FILE: FILE's bytes after one selector byte (an octal escape).
seed() { { printf "$2"; cat "$3"; } > "$corpus/$1"; }
# proto_seed NAME SELECTOR_BYTE TYPE FILE: a text-format request, encoded.
proto_seed() {
  { printf "$2"; protoc --encode="llmworker.v1.$3" -I "$source_dir/proto" \
      llmworker/v1/worker.proto < "$4"; } > "$corpus/$1"
}

case "$name" in
  gguf_fuzz)
    cp "$fixtures"/hf_tiny/{qwen2,mistral,phi3,phi2,gemma3}-Q4_0.gguf "$corpus/"
    ;;
  safetensors_fuzz)
    cp "$fixtures/safetensors/tiny.safetensors" "$corpus/"
    cp "$fixtures"/hf_tiny/qwen2/model-0000[1-4]-of-00004.safetensors "$corpus/"
    ;;
  hf_config_fuzz)
    for family in llama mistral qwen2 phi2 phi3 gemma3; do
      seed "config-$family" '\000' "$fixtures/hf_tiny/$family/config.json"
      seed "generation-$family" '\001' "$fixtures/hf_tiny/$family/generation_config.json"
    done
    ;;
  tokenizer_json_fuzz)
    for family in llama mistral qwen2 phi2 phi3 gemma3; do
      cp "$fixtures/hf_tiny/$family/tokenizer.json" "$corpus/$family.json"
    done
    for variant in gpt2 llama2 llama3 mistral qwen2; do
      cp "$fixtures/hf_tokenizers/$variant/tokenizer.json" "$corpus/hf-$variant.json"
    done
    ;;
  tokenizer_roundtrip_fuzz)
    for selector in 000 001 002 004 010 014 020 024 030 034; do
      seed "corpus-$selector" "\\$selector" "$fixtures/tokenizer/corpus.json"
      seed "pieces-$selector" "\\$selector" "$fixtures/tokenizer/pretokenizer_pieces.json"
    done
    ;;
  chat_template_fuzz)
    for selector in 000 001 002 003 004 005 006 007 010 011 012 013; do
      printf "\\$selector"'system\377Be brief.\377user\377Hi <|im_start|>!\377assistant\377Hello.\377user\377And?' \
        > "$corpus/chat-$selector"
    done
    ;;
  request_conversion_fuzz)
    for request in "$source_dir"/tests/fuzz/seeds/generate_*.txtpb; do
      proto_seed "$(basename "$request" .txtpb)" '\000' GenerateRequest "$request"
    done
    proto_seed tokenize '\001' TokenizeRequest "$source_dir/tests/fuzz/seeds/tokenize.txtpb"
    ;;
  response_format_fuzz)
    for grammar in "$fixtures"/grammars/*.gbnf; do
      seed "grammar-$(basename "$grammar" .gbnf)" '\000' "$grammar"
    done
    for schema in "$fixtures"/schemas/real/*.json; do
      seed "schema-$(basename "$schema" .json)" '\001' "$schema"
    done
    ;;
  *)
    echo "run_fuzz.sh: no seeds for $name" >&2
    exit 2
    ;;
esac

export LLMW_SOURCE_DIR="$source_dir"
exec "$binary" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix="$work/" "$corpus"
