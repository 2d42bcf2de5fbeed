// Loads a GGUF checkpoint of the `gemma3` architecture onto the Gemma forward pass.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "models/formats/gguf_file.h"
#include "models/gemma/gemma_config.h"
#include "kernels/backend.h"
#include "models/model.h"

namespace llmw {

// Hyper-parameters from the `gemma3.*` keys, validated.
absl::StatusOr<GemmaConfig> ReadGgufGemmaConfig(const GgufFile& file);

absl::StatusOr<std::unique_ptr<Model>> LoadGgufGemma(std::shared_ptr<GgufFile> file,
                                                     Backend& backend);

}  // namespace llmw
