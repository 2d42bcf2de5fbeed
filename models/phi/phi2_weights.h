// Loading and checking Phi-2's weights and hyper-parameters, shared by the
// GGUF and the safetensors loaders: only the tensor names differ.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "models/phi/phi2_config.h"
#include "models/weight_table.h"

namespace llmw {

// Where one checkpoint kind keeps each tensor (weights; each bias is the same
// name with "bias" for "weight"). Per-layer names follow `layer_prefix` + the
// layer index + ".".
struct Phi2TensorNames {
  std::string token_embd, output_norm, output;
  std::string layer_prefix;
  std::string norm, q, k, v, o, up, down;
  std::string qkv;  // a fused Q|K|V projection some checkpoints have instead; "" = never
};

const Phi2TensorNames& GgufPhi2Names();
const Phi2TensorNames& HfPhi2Names();

// INVALID_ARGUMENT starting with `source` unless the sizes are positive and
// consistent (heads dividing the width, an even rotary width within the head).
absl::Status CheckPhi2Config(const Phi2Config& c, std::string_view source);

absl::StatusOr<Phi2Weights> LoadPhi2Weights(const WeightTable& weights, const Phi2Config& c,
                                            const Phi2TensorNames& names);

}  // namespace llmw
