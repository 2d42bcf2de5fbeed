// The tokenizer of a Hugging Face model directory: tokenizer.json, with tokenizer_config.json
// (BOS / EOS / padding tokens, add_bos_token / add_eos_token, the chat template) and
// generation_config.json (the ids that end generation) when they are there.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "models/tokenizer/tokenizer.h"

namespace llmw {

struct HfTokenizerFiles {
  std::unique_ptr<Tokenizer> tokenizer;
  // tokenizer_config.json's chat_template (a string, or from a list of {name, template} the one
  // named "default", else the first), else the text of chat_template.jinja; empty when none.
  std::string chat_template;
  // All templates by name, when chat_template is a list.
  std::vector<std::pair<std::string, std::string>> named_chat_templates;
  // EOS and generation_config.json's eos_token_id, without repeats; the tokenizer's
  // IsEndOfGeneration is true for these (and for end-of-turn control tokens).
  std::vector<int32_t> end_of_generation_ids;
};

// Loads the tokenizer in `model_directory` (see HfBpeSpecFromJson for what tokenizer.json may
// hold). Encode(add_bos = true) adds the post-processor template's tokens, and also BOS / EOS
// where add_bos_token / add_eos_token are true and the template lacks them. Errors name the file
// and the field: NOT_FOUND without tokenizer.json, INVALID_ARGUMENT for malformed files or
// tokens that are not in the vocabulary, UNIMPLEMENTED for unsupported tokenizer features.
absl::StatusOr<HfTokenizerFiles> LoadHfTokenizer(const std::string& model_directory);

// generation_config.json's eos_token_id in `model_directory` (one id or a list); empty when the
// file or the key is absent. INVALID_ARGUMENT for a malformed file or value.
absl::StatusOr<std::vector<int32_t>> ReadGenerationEosIds(const std::string& model_directory);

}  // namespace llmw
