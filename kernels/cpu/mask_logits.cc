// Token masks on logit rows: whole 32-token words at a time where a word allows nothing.
#include "kernels/cpu/mask_logits.h"

#include <algorithm>
#include <limits>

namespace llmw::cpu {

void MaskLogits(float* logits, int64_t rows, int64_t vocab, const uint32_t* allowed,
                const int32_t* mask_offsets) {
  constexpr float kMinusInf = -std::numeric_limits<float>::infinity();
  for (int64_t r = 0; r < rows; ++r) {
    if (mask_offsets[r] < 0) continue;
    float* row = logits + r * vocab;
    const uint32_t* bits = allowed + mask_offsets[r];
    for (int64_t word = 0; word * 32 < vocab; ++word) {
      const uint32_t w = bits[word];
      if (w == UINT32_MAX) continue;
      const int64_t end = std::min(vocab, word * 32 + 32);
      for (int64_t v = word * 32; v < end; ++v) {
        if (!((w >> (v & 31)) & 1u)) row[v] = kMinusInf;
      }
    }
  }
}

}  // namespace llmw::cpu
