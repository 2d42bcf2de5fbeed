// Loads a GGUF checkpoint of the `phi2` architecture onto the Phi-2 forward pass.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "models/formats/gguf_file.h"
#include "kernels/backend.h"
#include "models/model.h"

namespace llmw {

absl::StatusOr<std::unique_ptr<Model>> LoadGgufPhi2(std::shared_ptr<GgufFile> file,
                                                    Backend& backend);

}  // namespace llmw
