// Integer matmul for K-quant weights (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K): y = x · Wᵀ.
//
// W is a Tensor [out, in] in one of those formats (rows along `in`, a multiple of 256); x is f32
// [n, in] row-major and y is f32 [n, out]. Each activation row is quantized once to Q8_K (per
// super-block of 256: an f32 scale, int8 quants, int16 sums of each 16-element group) and every
// (x row, W row) pair is an exact integer dot product per super-block followed by a short f32
// chain; the sub-block minimums / code offsets of the formats go through the group sums.
//
// Batch invariance: y[i][o] depends only on x row i and W row o. The portable, AVX2 and AVX-512
// variants compute one pair with the same arithmetic (kquant_internal.h), so a result is bitwise
// the same whatever n is, however the rows are split across threads, and whichever variant runs.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "kernels/cpu/thread_pool.h"
#include "kernels/dtype.h"
#include "kernels/tensor.h"

namespace llmw::cpu {

inline constexpr int64_t kQ8KElems = 256;

// One super-block of an activation row quantized to 8 bits. With m the element of largest
// magnitude (the first one on ties), iscale = -127 / m and d = 1 / iscale;
// qs[i] = round_half_even(clamp(x[i] * iscale, -127, 127)) and bsums[g] = sum of qs[16g .. 16g+15].
// An all-zero super-block has d = 0 and zero quants. (The fields are GGUF's Q8_K, reordered and
// padded so that the quants start on a cache line.)
struct alignas(64) BlockQ8K {
  int8_t qs[kQ8KElems];
  int16_t bsums[kQ8KElems / 16];
  float d;
};
static_assert(sizeof(BlockQ8K) == 320);

// Quantizes one row of `in` (a multiple of 256) elements into in / 256 blocks, with the best
// variant for this CPU (all variants give the same bits).
void QuantizeRowQ8K(const float* x, int64_t in, BlockQ8K* out);

// Whether KQuantMatmul takes weights of type `w`.
bool KQuantFastPathSupports(DType w);

// Caller-owned workspace: the quantized activations and each thread's decoded weight rows.
// Reserve once at load for the largest call; KQuantMatmul then never allocates. A call larger than
// the reservation grows it (allocates).
class KQuantScratch {
 public:
  KQuantScratch() = default;

  // Makes room for calls with up to `max_n` rows of `max_in` elements on up to `max_threads`
  // threads.
  void Reserve(int64_t max_n, int64_t max_in, int max_threads);

  // Room for `blocks` activation blocks / `bytes` of decoded weights (grow when needed).
  BlockQ8K* Activations(int64_t blocks);
  void* WeightBuffer(int64_t bytes);

 private:
  struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, FreeDeleter> activations_, weights_;
  int64_t activation_blocks_ = 0, weight_bytes_ = 0;
};

// y = x · Wᵀ, parallel over output rows with the pool. `w` must be a rank-2 CPU tensor whose type
// KQuantFastPathSupports and whose rows are whole super-blocks; anything else aborts.
void KQuantMatmul(const Tensor& w, const float* x, int64_t n, float* y, ThreadPool& pool,
                  KQuantScratch& scratch);

}  // namespace llmw::cpu
