// Raw launchers of the weight kernels (quantize.cu, matvec.cu, gemv.cu, dequantize.cu, embed.cu,
// repack.cu): no
// argument checks beyond what a launch needs, the launch error returned. matmul.h has the checked
// functions the rest of the project calls. Free of Abseil so that nvcc never parses it.
//
// All pointers are device pointers. `in` is a row's element count; activation rows are f32 and
// contiguous ([n, in]); weights and tables ([rows, in]) of float dtypes are stored as in GGUF,
// those of block formats in the repacked layout of repacked_layout.h (RepackRows).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/dtype.h"
#include "kernels/op_params.h"

namespace llmw::cuda_launch {

// The CPU matmul's activation rule for the 32-element block formats, per block of 32:
// d = amax / 127, id = d ? 1 / d : 0, q = round_half_even(clamp(x · id, -127, 127)),
// s = d · float(sum of q). q is [n, in], d and s are [n, in / 32]; in % 32 == 0.
cudaError_t QuantizeQ8(const float* x, int64_t n, int64_t in, int8_t* q, float* d, float* s,
                       cudaStream_t stream);

// The CPU's Q8_K rule for K-quant weights, per super-block of 256: m = the element of largest
// magnitude (the first on ties), iscale = -127 / m, q = round_half_even(clamp(x · iscale, -127,
// 127)), d = 1 / iscale (all zero when m is), bsums = sums of each 16 q. q is [n, in], bsums
// [n, in / 16], d [n, in / 256]; in % 256 == 0.
cudaError_t QuantizeQ8K(const float* x, int64_t n, int64_t in, int8_t* q, int16_t* bsums, float* d,
                        cudaStream_t stream);

// Most activation rows MatVec and Gemv take, and most weights one launch serves.
inline constexpr int64_t kMatVecMaxRows = 8;
inline constexpr int kMaxSharedWeights = 4;

// One weight of a launch: y[c · out + o] = row o of w · activation row c.
struct MatVecWeight {
  const void* w;
  int64_t out;
  float* y;
};

// For each of `count` (1..kMaxSharedWeights) weights of block format `type`, all with rows of
// `in` in the repacked layout (repacked_layout.h): y = the products with n <= kMatVecMaxRows
// activation rows quantized by QuantizeQ8 (xd, xs; xbsums unused) or, for K-quants, by
// QuantizeQ8K (xd, xbsums; xs unused): exact integer block dot products, then the CPU's f32
// chain in block order. One launch.
cudaError_t MatVec(DType type, const MatVecWeight* weights, int count, int64_t in, const int8_t* xq,
                   const float* xd, const float* xs, const int16_t* xbsums, int64_t n,
                   cudaStream_t stream);

// y[c · out + o] = act(g) · u with g and u MatVec's products of activation row c with row o of
// `gate` and of `up` (both [out, in] of `type`), in one launch.
cudaError_t MatVecGated(DType type, const void* gate, const void* up, int64_t out, int64_t in,
                        const int8_t* xq, const float* xd, const float* xs, const int16_t* xbsums,
                        int64_t n, GatedActivation act, float* y, cudaStream_t stream);

// MatVec and MatVecGated for float weights (kF32, kF16, kBF16) and f32 activations x [n, in],
// n <= kMatVecMaxRows: f32 products of the exact weights and x, summed in f32 per lane, then
// across the warp.
cudaError_t Gemv(DType type, const MatVecWeight* weights, int count, int64_t in, const float* x,
                 int64_t n, cudaStream_t stream);
cudaError_t GemvGated(DType type, const void* gate, const void* up, int64_t out, int64_t in,
                      const float* x, int64_t n, GatedActivation act, float* y,
                      cudaStream_t stream);

// Rewrites `rows` GGUF rows of `in` elements of block format `type` at w, in place, into the
// repacked layout (repacked_layout.h). Rows must be 2-byte aligned.
cudaError_t RepackRows(DType type, void* w, int64_t rows, int64_t in, cudaStream_t stream);

// dst[r · in + i] = bf16 of weight i of row r of w, for `rows` rows of a block format.
cudaError_t DequantizeToBf16(DType type, const void* w, int64_t rows, int64_t in, uint16_t* dst,
                             cudaStream_t stream);

// dst[i] = x[i] rounded to nearest even in `to` (kBF16 or kF16), for `count` elements.
cudaError_t ConvertF32(const float* x, int64_t count, DType to, uint16_t* dst, cudaStream_t stream);

// out[t · width + i] = weight i of row tokens[t] of `table` ([vocab, width], any dtype
// DequantizeRow takes) as f32, times scale when scale != 1. A token outside [0, vocab) gets a
// row of NaN (the table is never read out of bounds).
cudaError_t Embed(float* out, DType type, const void* table, int64_t vocab, int64_t width,
                  const int32_t* tokens, int64_t n, float scale, cudaStream_t stream);

}  // namespace llmw::cuda_launch
