// The CUDA twins of cpu::Matmul (kernels/cpu/matmul.h) and cpu::Embed (kernels/cpu/ops.h):
// products with, and rows of, weights kept on the device: float dtypes as stored, block formats
// in the repacked layout of repacked_layout.h (RepackWeights; CudaBackend::PlaceWeights repacks).
//
// Matmul: y = x · Wᵀ, W a device Tensor [out, in]; x [n, in] and y [n, out] f32 device arrays.
// - Float weights (F32, F16, BF16), n <= 8: a mat-vec kernel multiplies the exact weights with
//   the f32 x and sums in f32: differs from cpu::Matmul only in summation order.
// - F32 weights, n > 8: cublasGemmEx in f32 throughout (CUBLAS_COMPUTE_32F; the handle must be in
//   the default math mode, so no TF32). Differs from cpu::Matmul only in summation order.
// - F16 / BF16 weights, n > 8: x is rounded to the weight's type (nearest even, in scratch), then
//   cublasGemmEx with f32 accumulation. The rounding adds a relative error of at most 2^-11 (F16)
//   or 2^-8 (BF16) per element of x, so |Δy| <= 2^-11 (2^-8) · Σ|w x| on top of f32 summation.
//   F16 has less range: below 2^-14 the error is absolute (at most 2^-25) and |x| >= 65520
//   becomes infinity; an F16 checkpoint assumes activations in fp16 range.
// - Block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K .. Q6_K), n <= 8: each activation row is
//   quantized on the GPU by the CPU's rule (Q8 per 32, or Q8_K per 256 for K-quants), each block
//   dot product is exact in integers (dp4a) and the f32 chain over the blocks runs in the CPU's
//   order, so y equals cpu::Matmul's bit for bit.
// - Block formats, n > 8: the weights are dequantized to bf16 a tile of rows at a time into
//   scratch, x is rounded to bf16, and cublasGemmEx accumulates in f32. Each weight and each
//   activation carries a relative rounding error of at most 2^-8, so |Δy| <= (2^-7 + 2^-16) ·
//   Σ|w x| against the exact product of the dequantized weights with x (cpu::Matmul differs from
//   that exact product by its own 8-bit activation rounding instead).
//
// All calls are asynchronous on `stream`, never allocate and never read device data on the host.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/matmul_launch.h"
#include "kernels/tensor.h"

namespace llmw::cuda {

// One product of MatmulShared: y [n, w->dim(0)] = x · wᵀ.
struct SharedProduct {
  const Tensor* w;
  float* y;
};

// Device workspace of Matmul: activations rounded to 16 bits, quantized activations and a tile
// of dequantized weights. Reserve once at load; Matmul never allocates.
class MatmulScratch {
 public:
  MatmulScratch() = default;

  // Makes room for calls with up to `max_n` activation rows of up to `max_in` elements (rounded
  // up to a multiple of 256). Block-format weights taken with more than 8 rows are dequantized
  // at most min(max_out, 64 MiB / (2 · max_in)) rows at a time; larger weights go in several
  // tiles. Keeps the current buffers when they are large enough already. Device memory:
  //   2 · max_n · max_in                           activations as bf16 / fp16
  //   min(max_n, 8) · max_in · (1 + 8/32 + 2/16)   8-bit activations, scales and sums, group sums
  //   2 · max_in · tile rows (when max_n > 8)      one tile of bf16 weights
  absl::Status Reserve(int64_t max_n, int64_t max_in, int64_t max_out);

  // Device memory held, in bytes.
  int64_t bytes() const;

 private:
  friend absl::Status Matmul(const Tensor& w, const float* x, int64_t n, float* y,
                             MatmulScratch& scratch, cublasHandle_t cublas, cudaStream_t stream);
  friend absl::Status MatmulShared(std::span<const SharedProduct> products, const float* x,
                                   int64_t n, MatmulScratch& scratch, cublasHandle_t cublas,
                                   cudaStream_t stream);
  friend absl::Status MatvecGated(const Tensor& gate, const Tensor& up, const float* x, int64_t n,
                                  GatedActivation act, float* out, MatmulScratch& scratch,
                                  cudaStream_t stream);

  // OK when a product with `type` weights of rows of `in` and n activation rows fits.
  absl::Status Check(absl::string_view function, DType type, int64_t n, int64_t in) const;
  // Queues the quantization of x [n, in] by the rule of block format `type`.
  absl::Status QuantizeFor(DType type, const float* x, int64_t n, int64_t in, cudaStream_t stream);
  absl::Status Products(absl::string_view function, std::span<const SharedProduct> products,
                        const float* x, int64_t n, cublasHandle_t cublas, cudaStream_t stream);
  int8_t* quants() { return quants_.data_as<int8_t>(); }
  float* scales() { return scales_.data_as<float>(); }
  float* sums() { return sums_.data_as<float>(); }
  int16_t* group_sums() { return group_sums_.data_as<int16_t>(); }

  int64_t max_n_ = 0, max_in_ = 0, max_out_ = 0;
  int64_t tile_bytes_ = 0;
  DeviceBuffer activations16_;  // [max_n, max_in] bf16 or fp16
  DeviceBuffer quants_;         // [min(max_n, 8), max_in] int8
  DeviceBuffer scales_;         // [min(max_n, 8), max_in / 32] f32 (Q8_K: [.., max_in / 256])
  DeviceBuffer sums_;           // [min(max_n, 8), max_in / 32] f32
  DeviceBuffer group_sums_;     // [min(max_n, 8), max_in / 16] int16
  DeviceBuffer weight_tile_;    // tile_bytes_ of bf16 weights
};

// y = x · Wᵀ (above). `w` is a rank-2 device tensor of a dtype DequantizeRow takes, with rows of
// whole blocks; `cublas` may be null when n <= 8. The scratch must be
// reserved for n rows of w's row length. n == 0 queues nothing. kInvalidArgument, naming the
// argument, for anything else; launch errors as returned by CUDA or cuBLAS.
absl::Status Matmul(const Tensor& w, const float* x, int64_t n, float* y, MatmulScratch& scratch,
                    cublasHandle_t cublas, cudaStream_t stream);

// Matmul for 1 to 4 weights with rows of the same length and one x (q/k/v, gate/up): y_k = x ·
// W_kᵀ, each result what Matmul gives. With n <= 8, the activations are quantized once per rule
// (Q8, Q8_K) for all block-format weights, and the weights of one dtype go in one launch.
absl::Status MatmulShared(std::span<const SharedProduct> products, const float* x, int64_t n,
                          MatmulScratch& scratch, cublasHandle_t cublas, cudaStream_t stream);

// The gated product of llama- and gemma-style MLPs for n <= 8 activation rows, in one launch (after
// the activation quantization for block formats): out [n, gate.dim(0)] = act(x · gateᵀ) ⊙ (x ·
// upᵀ), act silu or gelu_tanh; gate and up of one dtype and shape. Its twin is the sequence
// MatmulShared({gate, up}) then SiluMul / GeluTanhMul (here and as cpu:: functions): the two
// products are Matmul's bit for bit (so cpu::Matmul's for block formats), and the activation
// repeats cuda::SiluMul's and cuda::GeluTanhMul's operations, within their few ulp of the CPU's
// (tests/gpu/ops_test.cc states the bounds). kInvalidArgument for n > 8: use MatmulShared and the
// activation then.
absl::Status MatvecGated(const Tensor& gate, const Tensor& up, const float* x, int64_t n,
                         GatedActivation act, float* out, MatmulScratch& scratch,
                         cudaStream_t stream);

// Rewrites the rows of a device weight or table of a block format, uploaded in its GGUF layout,
// into the layout every kernel here reads (repacked_layout.h), in stream order; float dtypes are
// left as they are. Run once per row: a second run scrambles it.
absl::Status RepackWeights(const Tensor& w, cudaStream_t stream);

// out[t] = row tokens[t] of `table` ([vocab, width], a device tensor in any dtype DequantizeRow
// takes) as f32, times `scale` when it is not 1: cpu::Embed's results bit for bit (NaN payloads
// in the table aside). `tokens` and `out` ([n, width]) are device arrays. The host cannot check
// token ids on the device: a token outside [0, vocab) gets a row of NaN rather than a read out
// of bounds.
absl::Status Embed(float* out, const Tensor& table, const int32_t* tokens, int64_t n, float scale,
                   cudaStream_t stream);

// The activation quantizers Matmul uses, for n rows of `in` f32 elements, bitwise equal to the
// CPU's. Q8 (32-element block formats; in % 32 == 0): q [n, in], d and s [n, in / 32] as the
// CPU's KernelTable::quantize gives them (bias offset 0). Q8_K (K-quants; in % 256 == 0): q
// [n, in], bsums [n, in / 16], d [n, in / 256]: the fields of the CPU's BlockQ8K.
absl::Status QuantizeRowsQ8(const float* x, int64_t n, int64_t in, int8_t* q, float* d, float* s,
                            cudaStream_t stream);
absl::Status QuantizeRowsQ8K(const float* x, int64_t n, int64_t in, int8_t* q, int16_t* bsums,
                             float* d, cudaStream_t stream);

}  // namespace llmw::cuda
