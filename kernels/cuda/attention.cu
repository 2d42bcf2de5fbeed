// Paged attention on the GPU, in two kernels that split a step between them without the host
// reading its chunk table: chunks of one token (decodes) go to the split decode kernel, longer
// chunks (prefill) to the flash-attention kernel; each kernel's blocks skip the other kind.
//
// Decode (flash-decoding): one block per (chunk, group of query heads sharing a KV head, split).
// A split takes an equal share of the sequence's attended KV blocks, computed here from the
// chunk's position, so the grid depends only on counts. Lanes read a key or value in 16-byte
// vectors, a few lanes per position; each group of lanes keeps an online softmax per head over
// its positions, the groups are merged in shared memory in a fixed order, and with several
// splits each writes its partial output, maximum and sum to scratch for the merge kernel, which
// combines them by log-sum-exp (an empty split has maximum -inf and weighs nothing).
//
// Prefill: one block per (tile of 32 step tokens, query head); for every prefill chunk in the
// tile, tiles of 32 cached positions are staged in shared memory as f32, each query row's scores
// are held by 4 lanes, and an online softmax accumulates the row's output in registers.
#include <cuda_fp16.h>

#include <algorithm>

#include "kernels/cuda/attention_launch.h"

namespace llmw::cuda_launch {
namespace {

constexpr int kWarpSize = 32;

// How the kernels read the cache's elements as f32 (all three conversions are exact).
struct F32Elems {
  using T = float;
  __device__ static float ToFloat(T x) { return x; }
};

struct F16Elems {
  using T = uint16_t;
  __device__ static float ToFloat(T x) { return __half2float(__ushort_as_half(x)); }
};

struct Bf16Elems {
  using T = uint16_t;
  __device__ static float ToFloat(T x) { return __uint_as_float(static_cast<uint32_t>(x) << 16); }
};

// V consecutive elements at p as f32: one 16-byte load when they fill 16 bytes (p is then
// 16-byte aligned), else one load each.
template <typename E, int V>
__device__ void LoadVector(const typename E::T* p, float* out) {
  using T = typename E::T;
  if constexpr (V * sizeof(T) == 16) {
    const uint4 raw = *reinterpret_cast<const uint4*>(p);
    const T* elems = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int i = 0; i < V; ++i) out[i] = E::ToFloat(elems[i]);
  } else {
#pragma unroll
    for (int i = 0; i < V; ++i) out[i] = E::ToFloat(p[i]);
  }
}

__device__ float Softcap(float score, float cap) {
  return cap > 0 ? cap * tanhf(score / cap) : score;
}

// The index of token t's chunk: the last one starting at or before it (chunks are in step order,
// and an empty chunk never hides the one it shares a first token with, as it comes first or is
// last).
__device__ int64_t ChunkIndexOf(const StepChunk* chunks, int64_t n_chunks, int64_t t) {
  int64_t lo = 0, hi = n_chunks - 1;
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (chunks[mid].first_token <= t) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

struct KernelArgs {
  float* out;
  const float* q;
  const void* k_cache;
  const void* v_cache;
  const StepChunk* chunks;
  const int32_t* block_tables;
  float* partials;  // split decode scratch; unused with one split
  int64_t n_tokens;
  int64_t n_chunks;
  int32_t n_heads;
  int32_t n_kv_heads;
  int32_t head_dim;
  int32_t block_size;
  int32_t window;  // 0: none
  int32_t heads_per_block;
  int32_t splits;
  int32_t lanes_per_key;  // decode: lanes that share one position, a power of two up to 32
  float scale;
  float softcap;  // <= 0: none
};

// ---- Decode ----

constexpr int kDecodeThreads = 128;
constexpr int kMaxHeadsPerBlock = static_cast<int>(kMaxDecodeHeadsPerBlock);
// Elements of a head one lane holds (kMaxPagedAttentionHeadDim over a warp).
constexpr int kLaneElems = 8;
// Positions each lane group loads before it computes with them.
constexpr int kInFlight = 2;
static_assert(kLaneElems * kWarpSize == kMaxPagedAttentionHeadDim);

// The index of the partial result (chunk, head, split): its output is elements
// [index · head_dim, (index + 1) · head_dim) of the scratch, its (maximum, sum) pair the index-th
// pair after all outputs, where PartialStats points.
__device__ int64_t PartialIndex(const KernelArgs& a, int64_t chunk, int64_t head, int64_t split) {
  return (chunk * a.n_heads + head) * a.splits + split;
}
__device__ float* PartialStats(const KernelArgs& a) {
  return a.partials + a.n_chunks * a.n_heads * a.splits * a.head_dim;
}

template <typename E, int V>
__global__ void __launch_bounds__(kDecodeThreads) DecodeKernel(KernelArgs a) {
  using T = typename E::T;
  constexpr int kVectors = kLaneElems / V;  // vectors per lane
  const int64_t c = blockIdx.x;
  const StepChunk chunk = a.chunks[c];
  if (chunk.n_tokens != 1) return;
  const int hd = a.head_dim;
  const int n_group_heads = a.heads_per_block;
  const int head0 = blockIdx.y * n_group_heads;
  const int kv_head = head0 / (a.n_heads / a.n_kv_heads);
  const int split = blockIdx.z;

  __shared__ __align__(16) float q_s[kMaxHeadsPerBlock * kMaxPagedAttentionHeadDim];
  // Each lane group's scaled accumulators and sums, for the merge at the end. Groups times
  // head_dim is at most kDecodeThreads * kLaneElems (a group's lanes hold a whole head).
  __shared__ float acc_s[kDecodeThreads * kLaneElems * kMaxHeadsPerBlock];
  __shared__ float stat_s[kDecodeThreads * kMaxHeadsPerBlock];
  __shared__ float max_s[kMaxHeadsPerBlock];

  const int64_t t = chunk.first_token;
  const float* q = a.q + (t * a.n_heads + head0) * hd;
  for (int i = threadIdx.x; i < n_group_heads * hd; i += kDecodeThreads) q_s[i] = q[i];

  // This split's positions: whole KV blocks of the attended range [first, pos].
  const int64_t pos = chunk.start_pos;
  const int64_t first = a.window > 0 && pos - a.window + 1 > 0 ? pos - a.window + 1 : 0;
  const int64_t block_first = first / a.block_size;
  const int64_t n_blocks = pos / a.block_size - block_first + 1;
  const int64_t per_split = (n_blocks + a.splits - 1) / a.splits;
  const int64_t split_block = block_first + split * per_split;
  const int64_t begin = max(first, split_block * a.block_size);
  const int64_t end = min(pos + 1, (split_block + per_split) * a.block_size);

  const int lanes = a.lanes_per_key;
  const int lane_in_key = threadIdx.x % lanes;
  const int group = threadIdx.x / lanes;
  const int n_groups = kDecodeThreads / lanes;
  const int n_vectors = hd / V;
  const int32_t* block_table = a.block_tables + chunk.block_table;
  const int64_t token_stride = static_cast<int64_t>(a.n_kv_heads) * hd;
  const T* k_cache = static_cast<const T*>(a.k_cache) + static_cast<int64_t>(kv_head) * hd;
  const T* v_cache = static_cast<const T*>(a.v_cache) + static_cast<int64_t>(kv_head) * hd;

  float m[kMaxHeadsPerBlock], l[kMaxHeadsPerBlock], acc[kMaxHeadsPerBlock][kLaneElems];
#pragma unroll
  for (int h = 0; h < kMaxHeadsPerBlock; ++h) {
    m[h] = -INFINITY;
    l[h] = 0.0f;
#pragma unroll
    for (int e = 0; e < kLaneElems; ++e) acc[h][e] = 0.0f;
  }
  __syncthreads();

  // Every lane runs every iteration (the shuffles need the whole warp); a group past the end
  // computes on zeros and keeps nothing. Each group loads kInFlight positions before using any,
  // to keep more loads in flight.
  for (int64_t base = begin; base < end; base += kInFlight * n_groups) {
    float k[kInFlight][kLaneElems], v[kInFlight][kLaneElems];
    bool active[kInFlight];
#pragma unroll
    for (int u = 0; u < kInFlight; ++u) {
      const int64_t j = base + u * n_groups + group;
      active[u] = j < end;
#pragma unroll
      for (int e = 0; e < kLaneElems; ++e) k[u][e] = v[u][e] = 0.0f;
      if (!active[u]) continue;
      const int64_t slot =
          static_cast<int64_t>(block_table[j / a.block_size]) * a.block_size + j % a.block_size;
      const T* key = k_cache + slot * token_stride;
      const T* value = v_cache + slot * token_stride;
#pragma unroll
      for (int i = 0; i < kVectors; ++i) {
        const int vec = lane_in_key + i * lanes;
        if (vec < n_vectors) {
          LoadVector<E, V>(key + vec * V, k[u] + i * V);
          LoadVector<E, V>(value + vec * V, v[u] + i * V);
        }
      }
    }
#pragma unroll
    for (int u = 0; u < kInFlight; ++u) {
#pragma unroll
      for (int h = 0; h < kMaxHeadsPerBlock; ++h) {
        if (h >= n_group_heads) break;
        float dot = 0.0f;
#pragma unroll
        for (int i = 0; i < kVectors; ++i) {
          const int vec = lane_in_key + i * lanes;
          if (vec < n_vectors) {
#pragma unroll
            for (int e = 0; e < V; ++e) dot += q_s[h * hd + vec * V + e] * k[u][i * V + e];
          }
        }
        for (int mask = lanes / 2; mask > 0; mask /= 2) {
          dot += __shfl_xor_sync(0xffffffffu, dot, mask);
        }
        if (active[u]) {
          const float score = Softcap(dot * a.scale, a.softcap);
          const float m_new = fmaxf(m[h], score);
          const float rescale = expf(m[h] - m_new);
          const float p = expf(score - m_new);
          l[h] = l[h] * rescale + p;
#pragma unroll
          for (int e = 0; e < kLaneElems; ++e) acc[h][e] = acc[h][e] * rescale + p * v[u][e];
          m[h] = m_new;
        }
      }
    }
  }

  // Merge the lane groups: rescale each to the block's maximum per head, then sum in group order.
  if (lane_in_key == 0) {
    for (int h = 0; h < n_group_heads; ++h) stat_s[group * kMaxHeadsPerBlock + h] = m[h];
  }
  __syncthreads();
  float rescale[kMaxHeadsPerBlock];
#pragma unroll
  for (int h = 0; h < kMaxHeadsPerBlock; ++h) {
    rescale[h] = 0.0f;
    if (h >= n_group_heads) continue;
    float block_max = -INFINITY;
    for (int g = 0; g < n_groups; ++g)
      block_max = fmaxf(block_max, stat_s[g * kMaxHeadsPerBlock + h]);
    rescale[h] = m[h] == -INFINITY ? 0.0f : expf(m[h] - block_max);
    if (threadIdx.x == 0) max_s[h] = block_max;
  }
  __syncthreads();
#pragma unroll
  for (int h = 0; h < kMaxHeadsPerBlock; ++h) {
    if (h >= n_group_heads) break;
    if (lane_in_key == 0) stat_s[group * kMaxHeadsPerBlock + h] = l[h] * rescale[h];
#pragma unroll
    for (int i = 0; i < kVectors; ++i) {
      const int vec = lane_in_key + i * lanes;
      if (vec >= n_vectors) continue;
#pragma unroll
      for (int e = 0; e < V; ++e) {
        acc_s[(group * n_group_heads + h) * hd + vec * V + e] = acc[h][i * V + e] * rescale[h];
      }
    }
  }
  __syncthreads();
  for (int i = threadIdx.x; i < n_group_heads * hd; i += kDecodeThreads) {
    const int h = i / hd, d = i % hd;
    float o = 0.0f, sum = 0.0f;
    for (int g = 0; g < n_groups; ++g) {
      o += acc_s[(g * n_group_heads + h) * hd + d];
      sum += stat_s[g * kMaxHeadsPerBlock + h];
    }
    if (a.splits == 1) {
      a.out[(t * a.n_heads + head0 + h) * hd + d] = o / sum;
    } else {
      const int64_t p = PartialIndex(a, c, head0 + h, split);
      a.partials[p * hd + d] = o;
      if (d == 0) {
        PartialStats(a)[2 * p] = max_s[h];
        PartialStats(a)[2 * p + 1] = sum;
      }
    }
  }
}

// One block per (chunk, query head): the decode's output from its splits' partial results.
__global__ void __launch_bounds__(kDecodeThreads) MergeSplitsKernel(KernelArgs a) {
  const int64_t c = blockIdx.x;
  const StepChunk chunk = a.chunks[c];
  if (chunk.n_tokens != 1) return;
  const int head = blockIdx.y;
  const int64_t p0 = PartialIndex(a, c, head, 0);
  const float* stats = PartialStats(a) + 2 * p0;

  __shared__ float weight_s[kMaxDecodeSplits];
  __shared__ float inv_total_s;
  if (threadIdx.x == 0) {
    float max_all = -INFINITY;
    for (int s = 0; s < a.splits; ++s) max_all = fmaxf(max_all, stats[2 * s]);
    float total = 0.0f;
    for (int s = 0; s < a.splits; ++s) {
      const float w = stats[2 * s] == -INFINITY ? 0.0f : expf(stats[2 * s] - max_all);
      weight_s[s] = w;
      total += w * stats[2 * s + 1];
    }
    inv_total_s = 1.0f / total;
  }
  __syncthreads();
  const float* partial = a.partials + p0 * a.head_dim;
  float* out = a.out + (chunk.first_token * static_cast<int64_t>(a.n_heads) + head) * a.head_dim;
  for (int d = threadIdx.x; d < a.head_dim; d += kDecodeThreads) {
    float o = 0.0f;
    for (int s = 0; s < a.splits; ++s) o += weight_s[s] * partial[s * a.head_dim + d];
    out[d] = o * inv_total_s;
  }
}

// ---- Prefill ----

constexpr int kPrefillThreads = 128;
constexpr int kRowLanes = 4;                         // lanes per query row
constexpr int kTileQ = kPrefillThreads / kRowLanes;  // query rows per block
constexpr int kTileK = 32;                           // cached positions per tile
constexpr int kKeysPerLane = kTileK / kRowLanes;

// Shared memory of the prefill kernel: queries and keys with rows padded by one float (so the
// lanes of a warp read different banks), values unpadded.
size_t PrefillSharedBytes(int head_dim) {
  return sizeof(float) * (static_cast<size_t>(kTileQ + kTileK) * (head_dim + 1) +
                          static_cast<size_t>(kTileK) * head_dim);
}

// kHeadDim: the head_dim bucket (64, 128 or 256) that sizes the accumulators.
template <typename E, int kHeadDim>
__global__ void __launch_bounds__(kPrefillThreads) PrefillKernel(KernelArgs a) {
  using T = typename E::T;
  constexpr int kAcc = kHeadDim / kRowLanes;
  extern __shared__ float smem[];
  const int hd = a.head_dim;
  const int stride = hd + 1;
  float* q_s = smem;                   // [kTileQ][stride]
  float* k_s = q_s + kTileQ * stride;  // [kTileK][stride]
  float* v_s = k_s + kTileK * stride;  // [kTileK][hd]
  const int head = blockIdx.y;
  const int kv_head = head / (a.n_heads / a.n_kv_heads);
  const int64_t tile_first = static_cast<int64_t>(blockIdx.x) * kTileQ;
  const int64_t tile_end = min(tile_first + kTileQ, a.n_tokens);
  const int row = threadIdx.x / kRowLanes;
  const int sub = threadIdx.x % kRowLanes;
  const int row_lane0 = (threadIdx.x % kWarpSize) & ~(kRowLanes - 1);
  const int64_t token_stride = static_cast<int64_t>(a.n_kv_heads) * hd;
  const T* k_cache = static_cast<const T*>(a.k_cache) + static_cast<int64_t>(kv_head) * hd;
  const T* v_cache = static_cast<const T*>(a.v_cache) + static_cast<int64_t>(kv_head) * hd;

  for (int64_t c = ChunkIndexOf(a.chunks, a.n_chunks, tile_first); c < a.n_chunks; ++c) {
    const StepChunk chunk = a.chunks[c];
    if (chunk.first_token >= tile_end) break;
    const int64_t lo = max(tile_first, static_cast<int64_t>(chunk.first_token));
    const int64_t hi = min(tile_end, static_cast<int64_t>(chunk.first_token) + chunk.n_tokens);
    if (chunk.n_tokens <= 1 || lo >= hi) continue;  // decodes are the decode kernel's

    __syncthreads();  // the previous chunk is done with q_s
    for (int i = threadIdx.x; i < kTileQ * hd; i += kPrefillThreads) {
      const int r = i / hd, d = i % hd;
      const int64_t t = tile_first + r;
      q_s[r * stride + d] = t >= lo && t < hi ? a.q[(t * a.n_heads + head) * hd + d] : 0.0f;
    }
    const int64_t my_t = tile_first + row;
    const bool row_active = my_t >= lo && my_t < hi;
    const int64_t my_pos = chunk.start_pos + (my_t - chunk.first_token);
    const int64_t my_first = a.window > 0 ? my_pos - a.window + 1 : 0;
    const int64_t pos_lo = chunk.start_pos + (lo - chunk.first_token);
    const int64_t pos_hi = chunk.start_pos + (hi - 1 - chunk.first_token);
    const int64_t key_begin = a.window > 0 && pos_lo - a.window + 1 > 0 ? pos_lo - a.window + 1 : 0;
    const int32_t* block_table = a.block_tables + chunk.block_table;

    float m = -INFINITY, l = 0.0f, acc[kAcc];
#pragma unroll
    for (int e = 0; e < kAcc; ++e) acc[e] = 0.0f;

    for (int64_t k0 = key_begin; k0 <= pos_hi; k0 += kTileK) {
      __syncthreads();  // q_s is written; k_s and v_s are free
      for (int i = threadIdx.x; i < kTileK * hd; i += kPrefillThreads) {
        const int r = i / hd, d = i % hd;
        const int64_t j = k0 + r;
        float key = 0.0f, value = 0.0f;
        if (j <= pos_hi) {
          const int64_t slot =
              static_cast<int64_t>(block_table[j / a.block_size]) * a.block_size + j % a.block_size;
          key = E::ToFloat(k_cache[slot * token_stride + d]);
          value = E::ToFloat(v_cache[slot * token_stride + d]);
        }
        k_s[r * stride + d] = key;
        v_s[r * hd + d] = value;
      }
      __syncthreads();

      float s[kKeysPerLane];
#pragma unroll
      for (int i = 0; i < kKeysPerLane; ++i) s[i] = 0.0f;
      for (int d = 0; d < hd; ++d) {
        const float qd = q_s[row * stride + d];
#pragma unroll
        for (int i = 0; i < kKeysPerLane; ++i) s[i] += qd * k_s[(sub + kRowLanes * i) * stride + d];
      }
      float tile_max = -INFINITY;
#pragma unroll
      for (int i = 0; i < kKeysPerLane; ++i) {
        const int64_t j = k0 + sub + kRowLanes * i;
        const bool attended = row_active && j <= my_pos && j >= my_first;
        s[i] = attended ? Softcap(s[i] * a.scale, a.softcap) : -INFINITY;
        tile_max = fmaxf(tile_max, s[i]);
      }
      for (int mask = 1; mask < kRowLanes; mask *= 2) {
        tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, mask));
      }
      const float m_new = fmaxf(m, tile_max);
      float rescale = 1.0f, p_sum = 0.0f;
      if (m_new != -INFINITY) {  // the row has attended something by now
        rescale = expf(m - m_new);
#pragma unroll
        for (int i = 0; i < kKeysPerLane; ++i) {
          s[i] = expf(s[i] - m_new);
          p_sum += s[i];
        }
        m = m_new;
      } else {
#pragma unroll
        for (int i = 0; i < kKeysPerLane; ++i) s[i] = 0.0f;
      }
      for (int mask = 1; mask < kRowLanes; mask *= 2) {
        p_sum += __shfl_xor_sync(0xffffffffu, p_sum, mask);
      }
      l = l * rescale + p_sum;
#pragma unroll
      for (int e = 0; e < kAcc; ++e) acc[e] *= rescale;
#pragma unroll
      for (int kk = 0; kk < kTileK; ++kk) {
        // Position kk's weight is held by lane kk % kRowLanes of this row, in s[kk / kRowLanes].
        const float p = __shfl_sync(0xffffffffu, s[kk / kRowLanes], row_lane0 + kk % kRowLanes);
#pragma unroll
        for (int e = 0; e < kAcc; ++e) {
          const int d = sub + kRowLanes * e;
          if (d < hd) acc[e] += p * v_s[kk * hd + d];
        }
      }
    }
    if (row_active) {
      float* out = a.out + (my_t * a.n_heads + head) * hd;
#pragma unroll
      for (int e = 0; e < kAcc; ++e) {
        const int d = sub + kRowLanes * e;
        if (d < hd) out[d] = acc[e] / l;
      }
    }
  }
}

template <typename E, int kHeadDim>
cudaError_t LaunchPrefill(const KernelArgs& args, dim3 grid, size_t shared_bytes,
                          cudaStream_t stream) {
  const cudaError_t set =
      cudaFuncSetAttribute(PrefillKernel<E, kHeadDim>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                           static_cast<int>(shared_bytes));
  if (set != cudaSuccess) return set;
  PrefillKernel<E, kHeadDim><<<grid, kPrefillThreads, shared_bytes, stream>>>(args);
  return cudaGetLastError();
}

template <typename E>
cudaError_t LaunchAll(KernelArgs args, const StepLayout& step, const DecodePlan& plan,
                      const void* k, const void* v, cudaStream_t stream) {
  using T = typename E::T;
  constexpr int kVector = 16 / sizeof(T);
  // 16-byte loads need every head's row to start on a 16-byte boundary.
  const bool vectors = args.head_dim % kVector == 0 && reinterpret_cast<uintptr_t>(k) % 16 == 0 &&
                       reinterpret_cast<uintptr_t>(v) % 16 == 0;
  const int vector = vectors ? kVector : 1;
  const int lane_vectors = kLaneElems / vector;
  const int needed = (args.head_dim / vector + lane_vectors - 1) / lane_vectors;
  args.lanes_per_key = 1;
  while (args.lanes_per_key < needed) args.lanes_per_key *= 2;

  const dim3 decode_grid(static_cast<unsigned>(step.n_chunks),
                         static_cast<unsigned>(args.n_heads / args.heads_per_block),
                         static_cast<unsigned>(args.splits));
  if (vectors) {
    DecodeKernel<E, kVector><<<decode_grid, kDecodeThreads, 0, stream>>>(args);
  } else {
    DecodeKernel<E, 1><<<decode_grid, kDecodeThreads, 0, stream>>>(args);
  }
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  if (plan.splits > 1) {
    const dim3 merge_grid(static_cast<unsigned>(step.n_chunks),
                          static_cast<unsigned>(args.n_heads));
    MergeSplitsKernel<<<merge_grid, kDecodeThreads, 0, stream>>>(args);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  }
  if (step.decodes_only) return cudaSuccess;

  const dim3 prefill_grid(static_cast<unsigned>((step.n_tokens + kTileQ - 1) / kTileQ),
                          static_cast<unsigned>(args.n_heads));
  const size_t shared_bytes = PrefillSharedBytes(args.head_dim);
  if (args.head_dim <= 64) return LaunchPrefill<E, 64>(args, prefill_grid, shared_bytes, stream);
  if (args.head_dim <= 128) return LaunchPrefill<E, 128>(args, prefill_grid, shared_bytes, stream);
  return LaunchPrefill<E, 256>(args, prefill_grid, shared_bytes, stream);
}

}  // namespace

cudaError_t PagedAttention(float* out, const float* q, const PagedKvLayer& kv,
                           const StepLayout& step, const AttentionParams& params,
                           const DecodePlan& plan, float* partials, cudaStream_t stream) {
  if (step.n_tokens <= 0 || step.n_chunks <= 0 || step.n_chunks > INT32_MAX ||
      params.n_heads <= 0 || params.n_heads > 65535 || kv.n_kv_heads <= 0 ||
      params.n_heads % kv.n_kv_heads != 0 || kv.head_dim <= 0 ||
      kv.head_dim > kMaxPagedAttentionHeadDim || kv.block_size <= 0 || plan.splits < 1 ||
      plan.splits > kMaxDecodeSplits || plan.heads_per_block < 1 ||
      plan.heads_per_block > kMaxDecodeHeadsPerBlock ||
      (params.n_heads / kv.n_kv_heads) % plan.heads_per_block != 0 ||
      (plan.splits > 1 && partials == nullptr)) {
    return cudaErrorInvalidValue;
  }
  const KernelArgs args{out, q, kv.k, kv.v, step.chunks, step.block_tables, partials, step.n_tokens,
                        step.n_chunks, static_cast<int32_t>(params.n_heads),
                        static_cast<int32_t>(kv.n_kv_heads), static_cast<int32_t>(kv.head_dim),
                        static_cast<int32_t>(kv.block_size),
                        // Windows past any int32 position are the same as none.
                        static_cast<int32_t>(std::clamp<int64_t>(params.window, 0, INT32_MAX)),
                        static_cast<int32_t>(plan.heads_per_block),
                        static_cast<int32_t>(plan.splits), 1, params.scale, params.softcap};
  switch (kv.dtype) {
    case DType::kF32:
      return LaunchAll<F32Elems>(args, step, plan, kv.k, kv.v, stream);
    case DType::kF16:
      return LaunchAll<F16Elems>(args, step, plan, kv.k, kv.v, stream);
    case DType::kBF16:
      return LaunchAll<Bf16Elems>(args, step, plan, kv.k, kv.v, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

cudaError_t DecodeBlocksPerSm(int* blocks) {
  return cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, DecodeKernel<Bf16Elems, 8>,
                                                       kDecodeThreads, 0);
}

}  // namespace llmw::cuda_launch
