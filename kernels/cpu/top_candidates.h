// cpu::TopCandidates: the few entries of each logit row that sampling can pick from (the largest
// logits with their ids, and the logits at a few given ids), so that only they need to leave the
// device that computed the logits. The numerical reference of cuda::TopCandidates.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

namespace llmw::cpu {

// The order TopCandidates ranks values in, as an unsigned integer that compares like the value:
// -0 ranks as +0, and every NaN ranks below -inf.
inline uint32_t CandidateKey(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return 0;  // NaN
  if (bits == 0x80000000u) bits = 0;                 // -0
  return (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
}

// The memory TopCandidates works in. One kept across calls (a backend's) makes them allocate
// nothing once it has grown to the largest call.
struct TopCandidatesScratch {
  struct Entry {
    uint32_t key;
    int32_t id;
  };
  std::vector<Entry> entries;
  std::vector<float> block_maxima;
};

// For each row r of `logits` ([rows, vocab] f32): the `top_n` largest values by CandidateKey (a
// tie goes to the lower id), as top_ids[r · top_n + i] and top_values[r · top_n + i], i < top_n,
// in ascending id order; and extra_values[j] = logits[r][extra_ids[j]] for every j in
// [extra_offsets[r], extra_offsets[r + 1]) (NaN for an id outside [0, vocab)). extra_offsets has
// rows + 1 non-decreasing entries. 1 <= top_n <= vocab. Costs about two vectorised passes over
// each row plus O(top_n log top_n); works in `scratch` (a temporary one when null).
void TopCandidates(int32_t* top_ids, float* top_values, float* extra_values, const float* logits,
                   int64_t rows, int64_t vocab, int64_t top_n, const int32_t* extra_ids,
                   const int32_t* extra_offsets, TopCandidatesScratch* scratch = nullptr);

}  // namespace llmw::cpu
