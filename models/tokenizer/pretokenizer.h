// Pre-tokenizers of byte-level BPE (GGUF `tokenizer.ggml.pre`): split text into the pieces that
// BPE then merges within. Each pattern is a hand-written matcher over code points with the
// semantics of its regex (leftmost alternative first, greedy), not a regex engine.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace llmw {

enum class PreTokenizer {
  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kGpt2,
  // Each \p{N} on its own first, then kGpt2 within the pieces between them.
  kSmolLm,
  // (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
  //  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  // BPE emits a piece that is itself a token directly (ignore_merges).
  kLlama3,
  // kLlama3 with \p{N} (single digits) for \p{N}{1,3}, and no ignore_merges.
  kQwen2,
};

// From a `tokenizer.ggml.pre` value: "gpt-2", "phi-2", "smollm", "llama-bpe", "llama3",
// "qwen2". INVALID_ARGUMENT naming the value and listing these for any other.
absl::StatusOr<PreTokenizer> PreTokenizerFromName(std::string_view name);

// From a tokenizer.json Split regex, exactly as the models publish it: GPT-2's, Llama 3's and
// Qwen2's (whose contractions are written (?i:'s|'t|...)). nullopt for any other.
std::optional<PreTokenizer> PreTokenizerFromRegex(std::string_view regex);

// Splits `text` into consecutive non-empty pieces that cover it. The text is read as UTF-8 with
// DecodeUtf8Lenient; pass text cleaned by CleanUtf8ForEncoding to get the reference's pieces.
// `unicode_case`: the case-insensitive contractions of kLlama3 and kQwen2 fold Unicode case as
// the published (?i:...) regex does, so that 'ſ (U+017F) counts as 's; llama.cpp folds ASCII.
std::vector<std::string_view> PreTokenize(PreTokenizer kind, std::string_view text,
                                          bool unicode_case = false);

}  // namespace llmw
