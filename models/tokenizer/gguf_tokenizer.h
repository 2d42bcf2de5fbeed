// The tokenizer stored in a GGUF checkpoint's `tokenizer.ggml.*` metadata.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "models/formats/gguf_file.h"
#include "models/tokenizer/bpe_tokenizer.h"
#include "models/tokenizer/spm_tokenizer.h"
#include "models/tokenizer/tokenizer.h"

namespace llmw {

// The byte-level BPE vocabulary (`tokenizer.ggml.model` = "gpt2"). Errors name the key: absent
// or mistyped required keys, unknown `pre`, token types out of range, special ids out of range.
absl::StatusOr<BpeVocab> BpeVocabFromGguf(const GgufFile& file);

// The SentencePiece vocabulary (`tokenizer.ggml.model` = "llama"). Without their keys, BOS, EOS
// and unknown are ids 1, 2 and 0, add_bos_token and add_space_prefix true, as in the reference.
absl::StatusOr<SpmVocab> SpmVocabFromGguf(const GgufFile& file);

// The model's tokenizer: BPE for "gpt2", SentencePiece for "llama". UNIMPLEMENTED for other known
// models not supported yet, INVALID_ARGUMENT for unknown ones; otherwise as the *VocabFromGguf
// functions and the tokenizers' Create.
absl::StatusOr<std::unique_ptr<Tokenizer>> TokenizerFromGguf(const GgufFile& file);

}  // namespace llmw
