// Paged attention on the GPU: one thread block per (token, query head) of a step, whatever mix of
// prefill chunks and decodes it holds. The block's warps take the token's attended positions in
// turn (warp w: first + w, first + w + kWarps, ...), each keeping an online softmax in f32 with
// its lanes holding interleaved elements of the head (lane l: l, l + 32, ...); the warps' partial
// results are then merged by their maxima. The grid depends only on the step's token and head
// counts, never on the context length.
#include <cuda_fp16.h>

#include <algorithm>

#include "kernels/cuda/attention_launch.h"

namespace llmw::cuda_launch {
namespace {

constexpr int kWarpSize = 32;
constexpr int kWarps = 4;
constexpr int kThreads = kWarps * kWarpSize;
constexpr int kElemsPerLane = kMaxPagedAttentionHeadDim / kWarpSize;

// How the kernel reads the cache's elements as f32 (all three conversions are exact).
struct F32Elems {
  using T = float;
  __device__ static float Load(const T* p) { return *p; }
};

struct F16Elems {
  using T = uint16_t;
  __device__ static float Load(const T* p) { return __half2float(__ushort_as_half(*p)); }
};

struct Bf16Elems {
  using T = uint16_t;
  __device__ static float Load(const T* p) {
    return __uint_as_float(static_cast<uint32_t>(*p) << 16);
  }
};

// The sum over the warp, in every lane. Each butterfly step adds the same two values in every
// pair of lanes, so all lanes hold the same bits and take the same branches afterwards.
__device__ float WarpSum(float x) {
  for (int mask = kWarpSize / 2; mask > 0; mask /= 2) x += __shfl_xor_sync(0xffffffffu, x, mask);
  return x;
}

__device__ float Softcap(float score, float cap) {
  return cap > 0 ? cap * tanhf(score / cap) : score;
}

// The chunk of token t: the last one starting at or before it (chunks are in step order, and an
// empty chunk never hides the one it shares a first token with, as it comes first or is last).
__device__ StepChunk ChunkOf(const StepChunk* chunks, int64_t n_chunks, int64_t t) {
  int64_t lo = 0, hi = n_chunks - 1;
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (chunks[mid].first_token <= t) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return chunks[lo];
}

struct KernelArgs {
  float* out;
  const float* q;
  const void* k_cache;
  const void* v_cache;
  const StepChunk* chunks;
  const int32_t* block_tables;
  int64_t n_chunks;
  int64_t n_heads;
  int64_t n_kv_heads;
  int64_t head_dim;
  int32_t block_size;
  int32_t window;  // 0: none
  float scale;
  float softcap;  // <= 0: none
};

template <typename E>
__global__ void __launch_bounds__(kThreads) PagedAttentionKernel(KernelArgs a) {
  using T = typename E::T;
  const int64_t t = blockIdx.x;
  const int64_t head = blockIdx.y;
  const int warp = threadIdx.x / kWarpSize;
  const int lane = threadIdx.x % kWarpSize;

  const StepChunk chunk = ChunkOf(a.chunks, a.n_chunks, t);
  const int32_t pos = chunk.start_pos + static_cast<int32_t>(t - chunk.first_token);
  const int32_t first = a.window > 0 ? max(0, pos - a.window + 1) : 0;
  const int32_t* block_table = a.block_tables + chunk.block_table;
  const int64_t token_stride = a.n_kv_heads * a.head_dim;
  const int64_t kv_head = head / (a.n_heads / a.n_kv_heads);
  const T* k_cache = static_cast<const T*>(a.k_cache) + kv_head * a.head_dim;
  const T* v_cache = static_cast<const T*>(a.v_cache) + kv_head * a.head_dim;
  const int64_t row = (t * a.n_heads + head) * a.head_dim;

  float q[kElemsPerLane], acc[kElemsPerLane];
#pragma unroll
  for (int i = 0; i < kElemsPerLane; ++i) {
    const int d = lane + kWarpSize * i;
    q[i] = d < a.head_dim ? a.q[row + d] : 0.0f;
    acc[i] = 0.0f;
  }
  float running_max = -INFINITY;
  float running_sum = 0.0f;
  for (int32_t j = first + warp; j <= pos; j += kWarps) {
    const int64_t slot =
        static_cast<int64_t>(block_table[j / a.block_size]) * a.block_size + j % a.block_size;
    const T* key = k_cache + slot * token_stride;
    const T* value = v_cache + slot * token_stride;
    float partial = 0.0f;
#pragma unroll
    for (int i = 0; i < kElemsPerLane; ++i) {
      const int d = lane + kWarpSize * i;
      if (d < a.head_dim) partial += q[i] * E::Load(key + d);
    }
    const float score = Softcap(WarpSum(partial) * a.scale, a.softcap);
    if (score > running_max) {
      const float rescale = expf(running_max - score);
      running_sum *= rescale;
#pragma unroll
      for (int i = 0; i < kElemsPerLane; ++i) acc[i] *= rescale;
      running_max = score;
    }
    const float w = expf(score - running_max);
    running_sum += w;
#pragma unroll
    for (int i = 0; i < kElemsPerLane; ++i) {
      const int d = lane + kWarpSize * i;
      if (d < a.head_dim) acc[i] += w * E::Load(value + d);
    }
  }

  __shared__ float warp_max[kWarps];
  __shared__ float warp_sum[kWarps];
  __shared__ float warp_acc[kWarps][kMaxPagedAttentionHeadDim];
  if (lane == 0) {
    warp_max[warp] = running_max;
    warp_sum[warp] = running_sum;
  }
#pragma unroll
  for (int i = 0; i < kElemsPerLane; ++i) {
    const int d = lane + kWarpSize * i;
    if (d < a.head_dim) warp_acc[warp][d] = acc[i];
  }
  __syncthreads();

  // Warp 0 always has the first attended position, so the maximum is that of a real score; a
  // warp that had no position (a context shorter than kWarps) weighs nothing.
  float max_all = warp_max[0];
  for (int w = 1; w < kWarps; ++w) max_all = fmaxf(max_all, warp_max[w]);
  float weight[kWarps];
  float total = 0.0f;
  for (int w = 0; w < kWarps; ++w) {
    weight[w] = warp_max[w] == -INFINITY ? 0.0f : expf(warp_max[w] - max_all);
    total += warp_sum[w] * weight[w];
  }
  const float inv_total = 1.0f / total;
  for (int d = threadIdx.x; d < a.head_dim; d += kThreads) {
    float o = 0.0f;
    for (int w = 0; w < kWarps; ++w) o += warp_acc[w][d] * weight[w];
    a.out[row + d] = o * inv_total;
  }
}

}  // namespace

cudaError_t PagedAttention(float* out, const float* q, const PagedKvLayer& kv,
                           const StepLayout& step, const AttentionParams& params,
                           cudaStream_t stream) {
  const KernelArgs args{out, q, kv.k, kv.v, step.chunks, step.block_tables, step.n_chunks,
                        params.n_heads, kv.n_kv_heads, kv.head_dim,
                        static_cast<int32_t>(kv.block_size),
                        // Windows past any int32 position are the same as none.
                        static_cast<int32_t>(std::clamp<int64_t>(params.window, 0, INT32_MAX)),
                        params.scale, params.softcap};
  const dim3 grid(static_cast<unsigned>(step.n_tokens), static_cast<unsigned>(params.n_heads));
  switch (kv.dtype) {
    case DType::kF32:
      PagedAttentionKernel<F32Elems><<<grid, kThreads, 0, stream>>>(args);
      break;
    case DType::kF16:
      PagedAttentionKernel<F16Elems><<<grid, kThreads, 0, stream>>>(args);
      break;
    case DType::kBF16:
      PagedAttentionKernel<Bf16Elems><<<grid, kThreads, 0, stream>>>(args);
      break;
    default:
      return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace llmw::cuda_launch
