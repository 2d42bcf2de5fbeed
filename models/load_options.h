// What a caller decides when loading a model.
#pragma once

#include <cstdint>

namespace llmw {

namespace cpu {
class ThreadPool;
}

struct LoadOptions {
  cpu::ThreadPool* pool = nullptr;  // required; shared by every op of the model
  int64_t max_batch_tokens = 512;   // sizes the activation workspace
  // Run every matmul through the scalar reference (weights dequantized, f32
  // activations, double accumulation) instead of the fast path that
  // quantizes activations to 8 bits. Much slower; for correctness checks.
  bool reference_matmul = false;
};

}  // namespace llmw
