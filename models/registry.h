// Picks the model module for a checkpoint and loads it: a .gguf file by its
// `general.architecture`, a Hugging Face directory (config.json, safetensors,
// tokenizer files) by config.json's `model_type`. Unknown architectures are
// refused with the list of supported ones.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/load_options.h"
#include "models/model.h"

namespace llmw {

absl::StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& path,
                                                 const LoadOptions& options);

// GGUF architectures LoadModel accepts.
std::vector<std::string> SupportedGgufArchitectures();
// Hugging Face model types LoadModel accepts.
std::vector<std::string> SupportedHfModelTypes();

}  // namespace llmw
