// What every GGUF family loader reads the same way: ModelInfo from the
// general.* keys and tensor table, the vocabulary size, and the tokenizer.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "models/formats/gguf_file.h"
#include "models/model.h"

namespace llmw {

ModelInfo GgufModelInfo(const GgufFile& file, const std::string& architecture,
                        int64_t context_length, int64_t vocab_size);

// The vocabulary size: the rows of `token_embd.weight` (NOT_FOUND without it).
absl::StatusOr<int64_t> GgufVocabSize(const GgufFile& file);

// The file's tokenizer, checked to have `vocab_size` tokens.
absl::StatusOr<std::unique_ptr<Tokenizer>> GgufTokenizerFor(const GgufFile& file,
                                                            int64_t vocab_size);

}  // namespace llmw
