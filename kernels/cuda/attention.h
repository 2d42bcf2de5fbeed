// cuda::WriteKv and cuda::PagedAttention: the KV-cache write and the causal attention of a step
// over the paged cache, on the GPU. The CUDA twins of cpu::WriteKv and cpu::PagedAttention
// (kernels/cpu/attention.h): same arguments plus scratch and the stream, same results (bit for bit
// for the write; within float rounding for attention, which sums in another order).
//
// Every pointer is a device pointer, StepLayout's arrays included; the host reads only the
// counts (step.n_tokens, step.n_chunks). Both functions queue their work on `stream` and return
// without waiting: kInvalidArgument (naming the function and the argument) for arguments the
// kernels cannot run, launch errors here, execution errors at the next synchronization.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/op_params.h"
#include "kernels/paged_kv.h"
#include "kernels/step_layout.h"

namespace llmw::cuda {

// Largest head_dim PagedAttention takes (the CPU's is kMaxAttentionHeadDim, 512).
inline constexpr int64_t kMaxPagedAttentionHeadDim = 256;

// Stores k[t] and v[t] ([n, kv.token_stride()] f32) at slot slots[t] of the cache, converted to
// kv.dtype (f32, f16 or bf16) exactly as kernels/fp16.h rounds: to nearest even, NaNs quiet.
// Slots must lie in the cache and be distinct. n == 0 queues nothing.
absl::Status WriteKv(const PagedKvLayer& kv, const float* k, const float* v, const int32_t* slots,
                     int64_t n, cudaStream_t stream);

// Device memory for the partial results of split decode attention (kernels/decode_plan.h),
// reserved at load so that no step allocates, and the decode blocks that fill the GPU (its
// multiprocessors times the decode kernel's occupancy), which the split plan aims for. An empty
// one (never reserved) makes every decode run unsplit.
class AttentionScratch {
 public:
  // Room for every decode plan of queries up to max_q_width (n_heads · head_dim) elements wide
  // on the current device. Keeps the buffer when it is large enough already.
  absl::Status Reserve(int64_t max_q_width);

  int64_t target_blocks() const { return target_blocks_; }
  int64_t floats() const { return static_cast<int64_t>(buffer_.size() / sizeof(float)); }
  float* data() const { return buffer_.data_as<float>(); }

 private:
  int64_t target_blocks_ = 1;
  DeviceBuffer buffer_;
};

// For every token t of the step (chunk c, position chunks[c].start_pos + t - first_token),
// attends q[t] ([params.n_heads, head_dim]) to its sequence's cached positions
// [max(0, p - window + 1), p] and writes out[t] ([n_heads, head_dim]); scores are
// softcap · tanh(score / softcap) when softcap > 0; softmax and sums in f32. The step's own keys
// and values must already be in the cache.
//
// Chunks of one token (decodes) go to the split decode kernel, planned by PlanDecode from the
// chunk and head counts and `scratch`: a token's bits depend on the step's chunk count (through
// the split count), never on the other chunks' contents or lengths, and the same step gives the
// same bits every time. Longer chunks go to a flash-attention kernel (tiles of 32 queries of a
// head against tiles of 32 cached positions in shared memory), which is not launched when
// step.decodes_only. head_dim up to kMaxPagedAttentionHeadDim; n_heads up to 65535.
// step.n_tokens == 0 queues nothing.
absl::Status PagedAttention(float* out, const float* q, const PagedKvLayer& kv,
                            const StepLayout& step, const AttentionParams& params,
                            const AttentionScratch& scratch, cudaStream_t stream);

// Rotates q ([n, n_heads · kv.head_dim]) and k ([n, kv.token_stride()]) in place as cuda::Rope
// does, then stores k and v as WriteKv does: the CUDA twin of cpu::RopeWriteKv, one launch for
// the three ops. rot_dim is even and at most kv.head_dim; n == 0 queues nothing.
absl::Status RopeWriteKv(const PagedKvLayer& kv, float* q, float* k, const float* v,
                         const float* cos, const float* sin, const int32_t* slots, int64_t n,
                         int64_t n_heads, int64_t rot_dim, RopePairing pairing,
                         cudaStream_t stream);

}  // namespace llmw::cuda
