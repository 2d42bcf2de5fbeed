// How split decode attention spreads a step's single-token chunks over a GPU (flash-decoding):
// one thread block per (chunk, group of query heads sharing a KV head, split), each split taking
// an equal share of the sequence's KV blocks, and the splits' partial results merged by
// log-sum-exp. The plan depends on the chunk and head counts, how many blocks the GPU runs at
// once and the scratch reserved at load, never on the context length, so one launch shape serves
// every context (and a captured CUDA graph every length).
//
// Plain C++17 (the kernels read these constants too); no CUDA.
#pragma once

#include <algorithm>
#include <cstdint>

namespace llmw {

// Query heads one thread block takes at most (they share every K and V load).
inline constexpr int64_t kMaxDecodeHeadsPerBlock = 8;
// Splits of one sequence at most: beyond this the merge costs more than the parallelism gains.
inline constexpr int64_t kMaxDecodeSplits = 64;
// Thread blocks per multiprocessor a decode step fills at least: each holds few loads in flight,
// so the memory system needs several resident to stream the cache at full bandwidth.
inline constexpr int64_t kMinDecodeBlocksPerSm = 2;

// The decode blocks that fill a GPU of sm_count multiprocessors that each hold blocks_per_sm of
// them at once (the kernel's occupancy): one full wave.
inline int64_t DecodeTargetBlocks(int64_t sm_count, int64_t blocks_per_sm) {
  return std::max<int64_t>(sm_count, 1) * std::max(blocks_per_sm, kMinDecodeBlocksPerSm);
}

struct DecodePlan {
  int64_t heads_per_block = 1;  // query heads of one KV head's group in one thread block
  int64_t splits = 1;           // parts of each sequence's KV blocks; 1: no merge, no scratch
};

// Floats of scratch a plan writes: per (chunk, query head, split) a partial output of head_dim
// elements, plus its running maximum and sum.
inline int64_t DecodeScratchFloats(int64_t n_chunks, int64_t n_heads, int64_t head_dim,
                                   int64_t splits) {
  return splits > 1 ? n_chunks * n_heads * splits * (head_dim + 2) : 0;
}

// The plan for `n_chunks` chunks (decodes and the chunks the decode kernel skips alike) of
// n_heads query heads over n_kv_heads KV heads (n_heads % n_kv_heads == 0), on a GPU that
// DecodeTargetBlocks fill, with `scratch_floats` floats of split scratch. Splits make at least
// target_blocks blocks; a batch that makes them alone gets 1 split; scratch too small for the
// splits wanted gets fewer.
inline DecodePlan PlanDecode(int64_t n_chunks, int64_t n_heads, int64_t n_kv_heads,
                             int64_t head_dim, int64_t target_blocks, int64_t scratch_floats) {
  DecodePlan plan;
  if (n_chunks <= 0 || n_heads <= 0 || n_kv_heads <= 0 || n_heads % n_kv_heads != 0) return plan;
  const int64_t group = n_heads / n_kv_heads;
  for (int64_t h = std::min(group, kMaxDecodeHeadsPerBlock); h >= 1; --h) {
    if (group % h == 0) {
      plan.heads_per_block = h;
      break;
    }
  }
  const int64_t blocks = n_chunks * (n_heads / plan.heads_per_block);
  const int64_t target = std::max<int64_t>(target_blocks, 1);
  int64_t splits = std::clamp<int64_t>((target + blocks - 1) / blocks, 1, kMaxDecodeSplits);
  const int64_t per_split = DecodeScratchFloats(n_chunks, n_heads, head_dim, 2) / 2;
  if (splits > 1 && splits * per_split > scratch_floats) {
    splits = std::max<int64_t>(1, scratch_floats / per_split);
  }
  plan.splits = splits;
  return plan;
}

// Scratch that holds every plan PlanDecode makes for queries of up to max_q_width
// (n_heads · head_dim) elements and target_blocks, whatever the chunk count: splits exceed 1
// only while blocks · splits < 2 · target_blocks, and a block's heads hold at most max_q_width
// elements and kMaxDecodeHeadsPerBlock maxima and sums.
inline int64_t MaxDecodeScratchFloats(int64_t target_blocks, int64_t max_q_width) {
  const int64_t target = std::max<int64_t>(target_blocks, 1);
  return 2 * target * (max_q_width + 2 * kMaxDecodeHeadsPerBlock);
}

}  // namespace llmw
