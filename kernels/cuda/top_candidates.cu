// The largest logits of each row on the GPU, for sampling from candidates. A radix select over
// the values' order-preserving keys (8 bits a pass, most significant first, stopping once a pass
// settles the set) finds the top_n-th largest key T and how many entries equal to T are in; one
// pass in order then writes the entries above T and the first of those equal to T. One block per
// row; or, for too few rows to fill the GPU (top_candidates_plan.h), one block per slice of a row
// and then one per row over the slices' results, which hold the row's top_n. Exact (no arithmetic
// on the values), so it equals cpu::TopCandidates bit for bit.
#include <cstdint>

#include "kernels/cuda/top_candidates_launch.h"
#include "kernels/cuda/top_candidates_plan.h"

namespace llmw::cuda_launch {
namespace {

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / 32;
constexpr int kRadixBits = 8;
constexpr int kBins = 1 << kRadixBits;
constexpr unsigned kFullWarp = 0xffffffffu;
constexpr int kUnroll = 4;                     // loads in flight per thread
constexpr int64_t kTile = kThreads * kUnroll;  // entries a pass over the row takes at a time

// cpu::CandidateKey (kernels/cpu/top_candidates.h): an unsigned integer that orders like the
// value, -0 as +0 and every NaN below -inf.
__device__ uint32_t CandidateKey(float value) {
  uint32_t bits = __float_as_uint(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return 0;
  if (bits == 0x80000000u) bits = 0;
  return (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
}

// How many threads before this one (in thread order) have `flag` set, and the block's total.
// Every thread of the block must call it.
__device__ int BlockRank(bool flag, int* warp_counts, int* total) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const unsigned ballot = __ballot_sync(kFullWarp, flag);
  __syncthreads();  // the previous call's readers are done with warp_counts
  if (lane == 0) warp_counts[warp] = __popc(ballot);
  __syncthreads();
  int before = 0, sum = 0;
  for (int w = 0; w < kWarps; ++w) {
    before += w < warp ? warp_counts[w] : 0;
    sum += warp_counts[w];
  }
  *total = sum;
  return before + __popc(ballot & ((1u << lane) - 1u));
}

// values[k] = x[base + k · kThreads + thread] (0 past the end, n): the loads of a tile are issued
// together, so that each thread has kUnroll of them in flight.
__device__ void LoadTile(float (&values)[kUnroll], const float* x, int64_t base, int64_t n) {
#pragma unroll
  for (int k = 0; k < kUnroll; ++k) {
    const int64_t i = base + k * kThreads + threadIdx.x;
    values[k] = i < n ? x[i] : 0.0f;
  }
}

// The top_n largest of the n entries values[0, n), whose ids are ids[i] (or id_base + i when
// `ids` is null) in ascending order, written to ids_out/values_out in that order; the earlier
// entry wins a tie of keys. 1 <= top_n <= n. Every thread of the block calls it. Its loops run the
// same number of times on every thread (indices past the end are idle), so the warp-wide
// intrinsics always see full warps.
__device__ void SelectTopN(const float* values, const int32_t* ids, int64_t id_base, int64_t n,
                           int top_n, int32_t* ids_out, float* values_out) {
  __shared__ int histogram[kBins];
  __shared__ int warp_counts[kWarps];
  __shared__ uint32_t chosen_prefix;
  __shared__ int chosen_remaining;
  __shared__ bool chosen_whole;
  const int lane = threadIdx.x & 31;

  // After the pass at `shift`, `prefix` holds the digits of T down to `shift` and `remaining` how
  // many of the entries whose keys start with them are among the top_n. When that is all of them,
  // the entries in are exactly those with keys >= prefix: T = prefix - 1 and none equal to it.
  uint32_t prefix = 0, mask = 0;
  int remaining = top_n;
  uint32_t threshold = 0;
  for (int shift = 32 - kRadixBits; shift >= 0; shift -= kRadixBits) {
    for (int b = threadIdx.x; b < kBins; b += kThreads) histogram[b] = 0;
    __syncthreads();
    for (int64_t base = 0; base < n; base += kTile) {
      float tile[kUnroll];
      LoadTile(tile, values, base, n);
#pragma unroll
      for (int k = 0; k < kUnroll; ++k) {
        int digit = -1;
        if (base + k * kThreads + threadIdx.x < n) {
          const uint32_t key = CandidateKey(tile[k]);
          if ((key & mask) == prefix) digit = static_cast<int>((key >> shift) & (kBins - 1));
        }
        // Logits crowd into a few digits (the exponent's): one atomic per digit per warp.
        const unsigned peers = __match_any_sync(kFullWarp, digit);
        if (digit >= 0 && lane == __ffs(peers) - 1) atomicAdd(&histogram[digit], __popc(peers));
      }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int above = 0;
      int digit = kBins - 1;
      for (; digit > 0 && above + histogram[digit] < remaining; --digit) above += histogram[digit];
      chosen_prefix = prefix | (static_cast<uint32_t>(digit) << shift);
      chosen_remaining = remaining - above;
      chosen_whole = chosen_remaining == histogram[digit];
    }
    __syncthreads();
    prefix = chosen_prefix;
    remaining = chosen_remaining;
    mask |= static_cast<uint32_t>(kBins - 1) << shift;
    threshold = prefix;
    const bool whole = chosen_whole && prefix > 0;
    __syncthreads();  // everyone has read chosen_* before the next pass writes them
    if (whole) {
      threshold = prefix - 1;
      remaining = 0;
      break;
    }
  }

  // Entries above T are in; of those equal to T, the first `remaining` in order.
  int written = 0, equal_seen = 0;
  for (int64_t base = 0; base < n && written < top_n; base += kTile) {
    float tile[kUnroll];
    LoadTile(tile, values, base, n);
    for (int k = 0; k < kUnroll; ++k) {  // in entry order: k * kThreads + thread
      const int64_t i = base + k * kThreads + threadIdx.x;
      const uint32_t key = CandidateKey(tile[k]);
      const bool above = i < n && key > threshold;
      const bool equal = i < n && key == threshold;
      if (__syncthreads_count(above || equal) == 0) continue;
      int equal_here = 0;
      const int equal_rank = BlockRank(equal, warp_counts, &equal_here);
      const bool take = above || (equal && equal_seen + equal_rank < remaining);
      int taken = 0;
      const int slot = BlockRank(take, warp_counts, &taken);
      if (take) {
        ids_out[written + slot] = ids != nullptr ? ids[i] : static_cast<int32_t>(id_base + i);
        values_out[written + slot] = tile[k];
      }
      written += taken;
      equal_seen += equal_here;
    }
  }
}

// One block per (slice, row): the top_n of each slice of `slices` (the last one takes the
// remainder) into scratch [rows, slices, top_n], in id order.
__global__ void __launch_bounds__(kThreads)
    SliceKernel(int32_t* scratch_ids, float* scratch_values, const float* logits, int64_t vocab,
                int64_t slices, int top_n) {
  const int64_t slice = blockIdx.x, row = blockIdx.y;
  const int64_t length = vocab / slices;
  const int64_t begin = slice * length;
  const int64_t n = slice + 1 == slices ? vocab - begin : length;
  const int64_t out = (row * slices + slice) * top_n;
  SelectTopN(logits + row * vocab + begin, nullptr, begin, n, top_n, scratch_ids + out,
             scratch_values + out);
}

// One block per row: the row's extra values, and its top_n of the n entries at
// values/ids + row · n (ids null: the row of logits itself).
__global__ void __launch_bounds__(kThreads)
    RowKernel(int32_t* top_ids, float* top_values, float* extra_values, const float* values,
              const int32_t* ids, int64_t n, const float* logits, int64_t vocab, int top_n,
              const int32_t* extra_ids, const int32_t* extra_offsets) {
  const int64_t row = blockIdx.x;
  const float* x = logits + row * vocab;
  for (int j = extra_offsets[row] + threadIdx.x; j < extra_offsets[row + 1]; j += kThreads) {
    const int32_t id = extra_ids[j];
    extra_values[j] = id >= 0 && id < vocab ? x[id] : __uint_as_float(0x7fc00000u);
  }
  SelectTopN(values + row * n, ids != nullptr ? ids + row * n : nullptr, 0, n, top_n,
             top_ids + row * top_n, top_values + row * top_n);
}

}  // namespace

cudaError_t TopCandidates(int32_t* top_ids, float* top_values, float* extra_values,
                          const float* logits, int64_t rows, int64_t vocab, int64_t top_n,
                          const int32_t* extra_ids, const int32_t* extra_offsets, void* scratch,
                          int64_t scratch_bytes, cudaStream_t stream) {
  if (rows <= 0 || rows > INT32_MAX || vocab <= 0 || vocab > INT32_MAX || top_n < 1 ||
      top_n > vocab || scratch_bytes < 0) {
    return cudaErrorInvalidValue;
  }
  const int n = static_cast<int>(top_n);
  const int64_t slices = cuda::TopCandidatesSlices(
      rows, vocab, top_n,
      scratch != nullptr ? cuda::TopCandidatesScratchEntries(scratch_bytes) : 0);
  if (slices == 1) {
    RowKernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(
        top_ids, top_values, extra_values, logits, nullptr, vocab, logits, vocab, n, extra_ids,
        extra_offsets);
    return cudaGetLastError();
  }
  auto* scratch_ids = static_cast<int32_t*>(scratch);
  auto* scratch_values = reinterpret_cast<float*>(scratch_ids + rows * slices * top_n);
  SliceKernel<<<dim3(static_cast<unsigned>(slices), static_cast<unsigned>(rows)), kThreads, 0,
                stream>>>(scratch_ids, scratch_values, logits, vocab, slices, n);
  if (const cudaError_t error = cudaGetLastError(); error != cudaSuccess) return error;
  RowKernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(
      top_ids, top_values, extra_values, scratch_values, scratch_ids, slices * top_n, logits, vocab,
      n, extra_ids, extra_offsets);
  return cudaGetLastError();
}

}  // namespace llmw::cuda_launch
