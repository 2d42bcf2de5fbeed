// ModelInfo from the general.* keys and tensor table of a GGUF checkpoint.
#pragma once

#include <string>

#include "models/formats/gguf_file.h"
#include "models/model.h"

namespace llmw {

ModelInfo GgufModelInfo(const GgufFile& file, const std::string& architecture,
                        int64_t context_length, int64_t vocab_size);

}  // namespace llmw
