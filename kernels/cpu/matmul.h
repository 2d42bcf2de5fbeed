// CPU matrix multiplication against stored weights: y = x · Wᵀ.
//
// W is a Tensor [out, in] in F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 or a K-quant (Q2_K,
// Q3_K, Q4_K, Q5_K, Q6_K) (rows along `in`); x is f32 [n, in] row-major and y is f32 [n, out].
//
// Matmul quantizes each activation row once to 8 bits (blocks of 32 with an f32 scale) for the
// 32-element block formats and runs integer dot products; float weights use f32 FMA. The SIMD
// kernels read block-format weights packed into groups of 16 rows (packed_weights.h): pass a
// PackedWeights, prepared once at load, or a Tensor, which is packed a few rows at a time on
// every call (same results, slower). K-quant weights take the integer path of kquant/ (activations
// rounded to 8 bits per 256-element super-block, Q8_K, with its own canonical order). The
// SIMD variant (AVX-512 VNNI, AVX-VNNI, AVX2, portable scalar) is picked at run time from the CPU.
//
// Batch invariance: y[i][o] depends only on x row i and W row o. Every variant computes one
// (row, output) pair with the same operations in the same order (matmul_internal.h), so the
// result is bitwise identical whatever n is, however the work is split across threads, whichever
// variant runs and whether the weights were packed at load.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "kernels/cpu/kquant/kquant_matmul.h"
#include "kernels/cpu/packed_weights.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/tensor.h"
#include "kernels/weight_check.h"

namespace llmw::cpu {

// Caller-owned workspace for the quantized activations. Reserve once at load for the largest
// call; Matmul then never allocates. A call larger than the reservation grows it (allocates).
class MatmulScratch {
 public:
  MatmulScratch() = default;

  // Makes room for calls with up to `max_n` rows of `max_in` elements.
  void Reserve(int64_t max_n, int64_t max_in);

  // Row c of a call with rows of `in` elements: quants at quants() + c * in, block biases, scales
  // and sums at bias() / scales() / sums() + c * BlocksPerRow(in).
  int8_t* quants() const { return static_cast<int8_t*>(buffer_.get()); }
  int32_t* bias() const { return bias_; }
  float* scales() const { return scales_; }
  float* sums() const { return sums_; }
  static int64_t BlocksPerRow(int64_t in) { return in / 32; }

  // Room for `floats` f32 values (block-format weights packed per thread when Matmul gets a
  // Tensor). Grows when a call needs more, so only the first such calls of a given size allocate.
  float* WeightRows(int64_t floats);
  // The K-quant path's workspace.
  KQuantScratch& kquant() { return kquant_; }

 private:
  struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, FreeDeleter> buffer_;
  int64_t capacity_n_ = 0, capacity_in_ = 0;
  int32_t* bias_ = nullptr;
  float* scales_ = nullptr;
  float* sums_ = nullptr;
  std::unique_ptr<void, FreeDeleter> weight_rows_;
  int64_t weight_rows_capacity_ = 0;
  KQuantScratch kquant_;
};

// The oracle: dequantizes each weight row and accumulates in double. Slow; allocates.
void MatmulReference(const Tensor& w, const float* x, int64_t n, float* y);

// The fast path, parallel over the pool.
void Matmul(const Tensor& w, const float* x, int64_t n, float* y, ThreadPool& pool,
            MatmulScratch& scratch);
// The same on weights packed at load: bitwise the same results as Matmul(w.source(), ...).
void Matmul(const PackedWeights& w, const float* x, int64_t n, float* y, ThreadPool& pool,
            MatmulScratch& scratch);

// One weight of a MatmulShared call and its output y ([n, w rows]).
struct MatmulTarget {
  const PackedWeights* w;
  float* y;
};

// y = x · Wᵀ for several weights that take the same x (q, k and v; gate and up): x is quantized
// once and all their rows share one parallel loop. Each y is bitwise what Matmul gives. Weights
// of different dtypes or row lengths simply run one after another.
void MatmulShared(std::span<const MatmulTarget> targets, const float* x, int64_t n,
                  ThreadPool& pool, MatmulScratch& scratch);

}  // namespace llmw::cpu
