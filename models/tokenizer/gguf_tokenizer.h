// The tokenizer stored in a GGUF checkpoint's `tokenizer.ggml.*` metadata.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "models/formats/gguf_file.h"
#include "models/tokenizer/bpe_tokenizer.h"
#include "models/tokenizer/tokenizer.h"

namespace llmw {

// The byte-level BPE vocabulary (`tokenizer.ggml.model` = "gpt2"). Errors name the key: absent
// or mistyped required keys, unknown `pre`, token types out of range, special ids out of range.
absl::StatusOr<BpeVocab> BpeVocabFromGguf(const GgufFile& file);

// The model's tokenizer. UNIMPLEMENTED for SentencePiece ("llama") and other known models not
// supported yet, INVALID_ARGUMENT for unknown ones; otherwise as BpeVocabFromGguf and
// BpeTokenizer::Create.
absl::StatusOr<std::unique_ptr<Tokenizer>> TokenizerFromGguf(const GgufFile& file);

}  // namespace llmw
