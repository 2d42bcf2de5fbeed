// Host memory for weights made at load rather than mapped from a checkpoint: vectors converted
// to f32 and tables computed from the config (RoPE frequencies). A family's weights own one, so
// the tensors viewing it live as long as the weights.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/tensor.h"

namespace llmw {

class HostArena {
 public:
  // An f32 tensor of `shape` over a zeroed array of its own; the memory never moves.
  Tensor NewF32(std::initializer_list<int64_t> shape);
  // A 1-D f32 tensor holding `values`.
  Tensor AddF32(const std::vector<float>& values);

 private:
  std::vector<std::unique_ptr<float[]>> arrays_;
};

}  // namespace llmw
