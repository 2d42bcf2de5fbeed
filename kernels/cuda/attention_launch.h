// Raw launchers of the KV-cache write (kv_write.cu) and paged attention (attention.cu) kernels.
// Free of Abseil so that nvcc never parses it; kernels/cuda/attention.h has the checked,
// Status-returning functions the rest of the project calls. The project headers included here
// are plain structs over <cstdint>, shared so that the kernels read exactly the host's layouts.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/decode_plan.h"
#include "kernels/op_params.h"
#include "kernels/paged_kv.h"
#include "kernels/step_layout.h"

namespace llmw::cuda_launch {

// Largest head_dim the attention kernels take: 8 elements per lane of a warp in the decode
// kernel, 64 accumulators per thread in the prefill kernel.
inline constexpr int64_t kMaxPagedAttentionHeadDim = 256;

// Stores the n rows of k and v ([n, kv.token_stride()] f32) at rows slots[t] of kv.k and kv.v,
// converted to kv.dtype. n > 0; kv.dtype is f32, f16 or bf16 (else cudaErrorInvalidValue).
cudaError_t WriteKv(const PagedKvLayer& kv, const float* k, const float* v, const int32_t* slots,
                    int64_t n, cudaStream_t stream);

// The split decode kernel (grid: step.n_chunks × n_heads / plan.heads_per_block × plan.splits)
// and, when plan.splits > 1, its merge over `partials` (DecodeScratchFloats of the plan); then,
// unless step.decodes_only, the prefill kernel (grid: ceil(step.n_tokens / 32) × n_heads); see
// kernels/cuda/attention.h. Requires step.n_tokens in (0, 2^31), step.n_chunks in (0, 2^31),
// params.n_heads in (0, 65535], n_heads % kv.n_kv_heads == 0, plan.heads_per_block dividing
// n_heads / n_kv_heads and at most kMaxDecodeHeadsPerBlock, plan.splits in [1,
// kMaxDecodeSplits], kv.head_dim in (0, kMaxPagedAttentionHeadDim], kv.block_size > 0 and a KV
// dtype of f32, f16 or bf16 (else cudaErrorInvalidValue).
cudaError_t PagedAttention(float* out, const float* q, const PagedKvLayer& kv,
                           const StepLayout& step, const AttentionParams& params,
                           const DecodePlan& plan, float* partials, cudaStream_t stream);

// Decode thread blocks one multiprocessor of the current device holds at once (the occupancy of
// the kernel for a bf16 cache, the default; the others use as many registers, give or take a few).
cudaError_t DecodeBlocksPerSm(int* blocks);

// Rotates the first rot_dim dims of every head of q ([n, n_heads · kv.head_dim]) and k
// ([n, kv.token_stride()]) in place by cos/sin ([n, rot_dim / 2]), pairing (x[i], x[i + half])
// when `rotate_half`, else (x[2i], x[2i+1]); then stores k and v as WriteKv does. One block per
// token; n > 0, n_heads > 0, rot_dim even and at most kv.head_dim.
cudaError_t RopeWriteKv(const PagedKvLayer& kv, float* q, float* k, const float* v,
                        const float* cos, const float* sin, const int32_t* slots, int64_t n,
                        int64_t n_heads, int64_t rot_dim, bool rotate_half, cudaStream_t stream);

}  // namespace llmw::cuda_launch
