// Llama models with random weights at a real model's shape, made in memory: for benchmarks and
// GPU checks that must not carry a checkpoint across machines. The text they write is nonsense;
// their logits are those of a well-conditioned network of that size (weights scaled by
// 1/sqrt(fan-in), norms of 1), so every kernel runs on realistic magnitudes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "models/llama/llama_config.h"
#include "models/model.h"
#include "models/model_runner.h"

namespace llmw {

// The shapes RandomLlama knows: "smollm2-135m", "llama3.2-1b", "llama3.1-8b", and "tiny" (two
// layers, for tests).
std::vector<std::string> RandomLlamaShapes();
absl::StatusOr<LlamaConfig> RandomLlamaConfig(std::string_view shape);

// A model of `shape` whose matmul weights are `dtype` (F32, F16, BF16 or a block format; row
// lengths must hold whole blocks), the same for one `seed`, placed on `backend`. The tokenizer is
// byte-level: ids 0..255 are bytes, the last id is the end-of-generation token.
absl::StatusOr<std::unique_ptr<Model>> RandomLlama(std::string_view shape, DType dtype,
                                                   uint64_t seed, Backend& backend);

// RandomLlama (seed 1) on a runner of its own made from `options`, its weights' type named as
// DTypeName names it ("q4_0", "bf16").
absl::StatusOr<std::unique_ptr<ModelRunner>> RandomLlamaRunner(std::string_view shape,
                                                               std::string_view dtype_name,
                                                               const RunnerOptions& options);

}  // namespace llmw
