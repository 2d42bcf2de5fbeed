// HostArena: arrays that outlive their tensors' moves.
#include "models/host_arena.h"

#include <algorithm>

namespace llmw {

Tensor HostArena::NewF32(std::initializer_list<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  arrays_.push_back(std::make_unique<float[]>(static_cast<size_t>(n)));
  return Tensor(DType::kF32, shape, arrays_.back().get());
}

Tensor HostArena::AddF32(const std::vector<float>& values) {
  Tensor t = NewF32({static_cast<int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t.data_as<float>());
  return t;
}

}  // namespace llmw
