// Reads a tokenizer.json (the `tokenizers` library's file) into an HfBpeSpec: the BPE model,
// added tokens, normalizer, pre-tokenizer, decoder and post-processor.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "models/tokenizer/hf_bpe_tokenizer.h"

namespace llmw {

// `file` names the file in messages. Supported: model.type "BPE" with byte-level
// pre-tokenization (ByteLevel, alone or after a Split whose regex is GPT-2's, Llama 3's or
// Qwen2's, or after Digits as SmolLM's) or SentencePiece style (no pre-tokenizer or Metaspace,
// with byte_fallback); normalizers NFC/NFD/NFKC/NFKD, Prepend, Replace; post-processors
// ByteLevel and TemplateProcessing. Errors name the field: INVALID_ARGUMENT for malformed content
// or an unknown Split regex (quoting its start), UNIMPLEMENTED for a valid feature that is not
// supported (model types Unigram, WordPiece, WordLevel, other normalizers, ...).
absl::StatusOr<HfBpeSpec> HfBpeSpecFromJson(std::string_view text, std::string_view file);

}  // namespace llmw
