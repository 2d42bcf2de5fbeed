// Picks the model module for a checkpoint and loads it: a .gguf file by its
// `general.architecture`, a Hugging Face directory (config.json, safetensors,
// tokenizer files) by config.json's `model_type`. Unknown architectures are
// refused with the list of supported ones. The model's weights are placed on `backend`, which
// must outlive it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "models/model.h"

namespace llmw {

absl::StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& path, Backend& backend);

// Only the tokenizer of the checkpoint at `path` (no weights are read).
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path);

// GGUF architectures LoadModel accepts.
std::vector<std::string> SupportedGgufArchitectures();
// Hugging Face model types LoadModel accepts.
std::vector<std::string> SupportedHfModelTypes();

}  // namespace llmw
