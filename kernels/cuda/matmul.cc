// cuda::Matmul and cuda::Embed: argument checks, the choice of path for the weight dtype and the
// number of activation rows, the scratch, and the cuBLAS calls.
#include "kernels/cuda/matmul.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "kernels/block_formats.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/matmul_launch.h"
#include "kernels/cuda/repacked_layout.h"

namespace llmw::cuda {
namespace {

// Bytes of bf16 weights dequantized at once for the GEMM of a block-format weight.
constexpr int64_t kWeightTileBytes = int64_t{64} << 20;

int64_t RoundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

bool IsFloat(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

absl::Status Invalid(absl::string_view function, absl::string_view argument,
                     absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(function, ": ", argument, " ", what));
}

// A device weight or table of rank 2 that DequantizeRow takes, rows of whole blocks, with its
// data aligned to its element (16 bits for the block formats' fields).
absl::Status CheckWeight(absl::string_view function, absl::string_view argument, const Tensor& t) {
  if (t.device() != Device::kCuda) {
    return Invalid(function, argument, absl::StrCat(t.DebugString(), " is not on the device"));
  }
  if (t.rank() != 2 || !SupportsDequantize(t.dtype())) {
    return Invalid(function, argument,
                   absl::StrCat(t.DebugString(), " is not a rank-2 tensor of a weight dtype"));
  }
  const int64_t block = Traits(t.dtype()).block_elems;
  if (t.row_elems() % block != 0) {
    return Invalid(function, argument,
                   absl::StrCat(t.DebugString(), " rows are not whole blocks of ", block));
  }
  if (t.rows() > 0 && t.row_elems() > 0) {
    const uintptr_t alignment = t.dtype() == DType::kF32 ? 4 : 2;
    if (t.data() == nullptr || reinterpret_cast<uintptr_t>(t.data()) % alignment != 0) {
      return Invalid(
          function, argument,
          absl::StrCat(t.DebugString(), " data is null or not ", alignment, "-byte aligned"));
    }
  }
  return absl::OkStatus();
}

// cuBLAS takes dimensions as int.
bool FitsInt(int64_t v) { return v <= INT_MAX; }

// Row-major y[n, ldy] (columns [0, rows)) = x[n, in] · W[rows, in]ᵀ, with W and x of `type` and
// f32 accumulation. In cuBLAS's column-major terms: y = Wᵀ · x with W seen as [in, rows].
absl::Status Gemm(cublasHandle_t cublas, cudaStream_t stream, cudaDataType type, const void* w,
                  int64_t rows, int64_t in, const void* x, int64_t n, float* y, int64_t ldy) {
  cudaStream_t bound = nullptr;
  LLMW_CUDA_RETURN_IF_ERROR(cublasGetStream(cublas, &bound));
  // Only when it differs: cublasSetStream also resets the handle's workspace.
  if (bound != stream) LLMW_CUDA_RETURN_IF_ERROR(cublasSetStream(cublas, stream));
  const float alpha = 1.0f, beta = 0.0f;
  LLMW_CUDA_RETURN_IF_ERROR(cublasGemmEx(
      cublas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(rows), static_cast<int>(n),
      static_cast<int>(in), &alpha, w, type, static_cast<int>(in), x, type, static_cast<int>(in),
      &beta, y, CUDA_R_32F, static_cast<int>(ldy), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  return absl::OkStatus();
}

}  // namespace

absl::Status MatmulScratch::Reserve(int64_t max_n, int64_t max_in, int64_t max_out) {
  if (max_n < 1 || max_in < 1 || max_out < 1) {
    return absl::InvalidArgumentError(absl::StrCat("cuda::MatmulScratch::Reserve: ", max_n,
                                                   " rows of ", max_in, " elements, ", max_out,
                                                   " outputs: each must be at least 1"));
  }
  max_n = std::max(max_n, max_n_);
  max_in = std::max(RoundUp(max_in, 256), max_in_);
  max_out = std::max(max_out, max_out_);
  if (max_n == max_n_ && max_in == max_in_ && max_out == max_out_) return absl::OkStatus();

  const int64_t q_rows = std::min(max_n, cuda_launch::kMatVecMaxRows);
  const int64_t tile_rows =
      max_n > cuda_launch::kMatVecMaxRows
          ? std::min(max_out, std::max<int64_t>(1, kWeightTileBytes / (2 * max_in)))
          : 0;
  const int64_t tile_bytes = 2 * max_in * tile_rows;
  absl::StatusOr<DeviceBuffer> activations16 = DeviceBuffer::Allocate(2 * max_n * max_in);
  absl::StatusOr<DeviceBuffer> quants = DeviceBuffer::Allocate(q_rows * max_in);
  absl::StatusOr<DeviceBuffer> scales = DeviceBuffer::Allocate(q_rows * max_in / 32 * 4);
  absl::StatusOr<DeviceBuffer> sums = DeviceBuffer::Allocate(q_rows * max_in / 32 * 4);
  absl::StatusOr<DeviceBuffer> group_sums = DeviceBuffer::Allocate(q_rows * max_in / 16 * 2);
  absl::StatusOr<DeviceBuffer> weight_tile = DeviceBuffer::Allocate(tile_bytes);
  for (const absl::StatusOr<DeviceBuffer>* b :
       {&activations16, &quants, &scales, &sums, &group_sums, &weight_tile}) {
    if (!b->ok()) return b->status();
  }
  activations16_ = *std::move(activations16);
  quants_ = *std::move(quants);
  scales_ = *std::move(scales);
  sums_ = *std::move(sums);
  group_sums_ = *std::move(group_sums);
  weight_tile_ = *std::move(weight_tile);
  max_n_ = max_n;
  max_in_ = max_in;
  max_out_ = max_out;
  tile_bytes_ = tile_bytes;
  return absl::OkStatus();
}

int64_t MatmulScratch::bytes() const {
  return static_cast<int64_t>(activations16_.size() + quants_.size() + scales_.size() +
                              sums_.size() + group_sums_.size() + weight_tile_.size());
}

namespace {

// The 16-bit type x is rounded to for the GEMM of `type` weights (kF32: none).
DType GemmInputType(DType type) {
  if (type == DType::kF32 || type == DType::kF16) return type;
  return DType::kBF16;  // bf16 weights, and block formats dequantized to bf16
}

// n > kMatVecMaxRows: cuBLAS (block formats over tiles of dequantized rows), with x16 holding x
// rounded to GemmInputType(w.dtype()).
absl::Status GemmPath(const Tensor& w, const float* x, int64_t n, float* y, cublasHandle_t cublas,
                      cudaStream_t stream, const uint16_t* x16, uint16_t* tile,
                      int64_t tile_bytes) {
  const DType type = w.dtype();
  const int64_t out = w.dim(0), in = w.row_elems();
  if (type == DType::kF32) return Gemm(cublas, stream, CUDA_R_32F, w.data(), out, in, x, n, y, out);
  if (IsFloat(type)) {
    return Gemm(cublas, stream, type == DType::kF16 ? CUDA_R_16F : CUDA_R_16BF, w.data(), out, in,
                x16, n, y, out);
  }
  // bf16 GEMMs over tiles of dequantized weight rows. The tile is reused in stream order, so a
  // tile is rewritten only after the GEMM reading it has run.
  const int64_t tile_rows = tile_bytes / (2 * in);
  for (int64_t o0 = 0; o0 < out; o0 += tile_rows) {
    const int64_t rows = std::min(tile_rows, out - o0);
    LLMW_CUDA_RETURN_IF_ERROR(
        cuda_launch::DequantizeToBf16(type, w.row(o0), rows, in, tile, stream));
    if (absl::Status s = Gemm(cublas, stream, CUDA_R_16BF, tile, rows, in, x16, n, y + o0, out);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MatmulScratch::Check(absl::string_view function, DType type, int64_t n,
                                  int64_t in) const {
  // f32 weights need no scratch, nor float weights on the mat-vec path.
  if (type == DType::kF32 || (IsFloat(type) && n <= cuda_launch::kMatVecMaxRows)) {
    return absl::OkStatus();
  }
  if (n > max_n_ || in > max_in_) {
    return Invalid(function, "scratch",
                   absl::StrCat("is reserved for ", max_n_, " rows of ", max_in_, " elements, not ",
                                n, " of ", in, " (MatmulScratch::Reserve)"));
  }
  return absl::OkStatus();
}

absl::Status MatmulScratch::QuantizeFor(DType type, const float* x, int64_t n, int64_t in,
                                        cudaStream_t stream) {
  if (IsKQuant(type)) {
    LLMW_CUDA_RETURN_IF_ERROR(
        cuda_launch::QuantizeQ8K(x, n, in, quants(), group_sums(), scales(), stream));
  } else {
    LLMW_CUDA_RETURN_IF_ERROR(
        cuda_launch::QuantizeQ8(x, n, in, quants(), scales(), sums(), stream));
  }
  return absl::OkStatus();
}

absl::Status MatmulShared(std::span<const SharedProduct> products, const float* x, int64_t n,
                          MatmulScratch& scratch, cublasHandle_t cublas, cudaStream_t stream) {
  return scratch.Products("cuda::MatmulShared", products, x, n, cublas, stream);
}

absl::Status Matmul(const Tensor& w, const float* x, int64_t n, float* y, MatmulScratch& scratch,
                    cublasHandle_t cublas, cudaStream_t stream) {
  const SharedProduct product{&w, y};
  return scratch.Products("cuda::Matmul", std::span<const SharedProduct>(&product, 1), x, n, cublas,
                          stream);
}

absl::Status MatmulScratch::Products(absl::string_view fn, std::span<const SharedProduct> products,
                                     const float* x, int64_t n, cublasHandle_t cublas,
                                     cudaStream_t stream) {
  if (products.empty() || products.size() > static_cast<size_t>(cuda_launch::kMaxSharedWeights)) {
    return Invalid(
        fn, "products",
        absl::StrCat("number ", products.size(), " is not 1 to ", cuda_launch::kMaxSharedWeights));
  }
  if (n < 0) return Invalid(fn, "n", absl::StrCat("= ", n, " < 0"));
  const int64_t in = products[0].w == nullptr ? 0 : products[0].w->row_elems();
  bool any_work = false;
  for (const SharedProduct& p : products) {
    if (p.w == nullptr) return Invalid(fn, "w", "is null");
    const Tensor& w = *p.w;
    if (absl::Status s = CheckWeight(fn, "w", w); !s.ok()) return s;
    if (w.row_elems() != in) {
      return Invalid(fn, "w",
                     absl::StrCat(w.DebugString(), " rows differ in length from ",
                                  products[0].w->DebugString(), "'s"));
    }
    if (!FitsInt(n) || !FitsInt(w.dim(0)) || !FitsInt(in)) {
      return Invalid(fn, "w or n",
                     absl::StrCat("too large for cuBLAS: ", w.DebugString(), ", n ", n));
    }
    const bool work = n > 0 && w.dim(0) > 0 && in > 0;
    if (!work) continue;
    any_work = true;
    if (x == nullptr) return Invalid(fn, "x", "is null");
    if (p.y == nullptr) return Invalid(fn, "y", "is null");
    if (n > cuda_launch::kMatVecMaxRows && cublas == nullptr) {
      return Invalid(fn, "cublas", "is null");
    }
    if (w.dtype() == DType::kF32 && n > cuda_launch::kMatVecMaxRows) continue;
    if (absl::Status s = Check(fn, w.dtype(), n, in); !s.ok()) return s;
  }
  if (!any_work) return absl::OkStatus();

  if (n > cuda_launch::kMatVecMaxRows) {
    // x is rounded once per 16-bit type the weights need (stream order keeps a rounding from
    // overwriting what an earlier GEMM still reads).
    uint16_t* x16 = activations16_.data_as<uint16_t>();
    DType rounded = DType::kF32;  // none yet
    for (const SharedProduct& p : products) {
      if (p.w->dim(0) == 0) continue;
      const DType input = GemmInputType(p.w->dtype());
      if (input != DType::kF32 && input != rounded) {
        LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::ConvertF32(x, n * in, input, x16, stream));
        rounded = input;
      }
      if (absl::Status s = GemmPath(*p.w, x, n, p.y, cublas, stream, x16,
                                    weight_tile_.data_as<uint16_t>(), tile_bytes_);
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  // Few rows: one launch per weight dtype; the block formats' activations quantized once per
  // rule (Q8 for the 32-element formats, Q8_K for the K-quants).
  bool done[cuda_launch::kMaxSharedWeights] = {};
  for (int quantized = -1, k = 0; k < static_cast<int>(products.size()); ++k) {
    const DType type = products[k].w->dtype();
    if (done[k] || products[k].w->dim(0) == 0) continue;
    cuda_launch::MatVecWeight group[cuda_launch::kMaxSharedWeights];
    int count = 0;
    for (int j = k; j < static_cast<int>(products.size()); ++j) {
      if (done[j] || products[j].w->dtype() != type || products[j].w->dim(0) == 0) continue;
      group[count++] = {products[j].w->data(), products[j].w->dim(0), products[j].y};
      done[j] = true;
    }
    if (IsFloat(type)) {
      LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::Gemv(type, group, count, in, x, n, stream));
      continue;
    }
    const int rule = IsKQuant(type) ? 1 : 0;
    if (quantized != rule) {
      if (absl::Status s = QuantizeFor(type, x, n, in, stream); !s.ok()) return s;
      quantized = rule;
    }
    LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::MatVec(type, group, count, in, quants(), scales(),
                                                  sums(), group_sums(), n, stream));
  }
  return absl::OkStatus();
}

absl::Status MatvecGated(const Tensor& gate, const Tensor& up, const float* x, int64_t n,
                         GatedActivation act, float* out, MatmulScratch& scratch,
                         cudaStream_t stream) {
  constexpr absl::string_view kFn = "cuda::MatvecGated";
  if (absl::Status s = CheckWeight(kFn, "gate", gate); !s.ok()) return s;
  if (absl::Status s = CheckWeight(kFn, "up", up); !s.ok()) return s;
  if (gate.dtype() != up.dtype() || gate.dim(0) != up.dim(0) ||
      gate.row_elems() != up.row_elems()) {
    return Invalid(
        kFn, "up",
        absl::StrCat(up.DebugString(), " differs in dtype or shape from ", gate.DebugString()));
  }
  if (n < 0 || n > cuda_launch::kMatVecMaxRows) {
    return Invalid(kFn, "n",
                   absl::StrCat("= ", n, " is not 0 to ", cuda_launch::kMatVecMaxRows,
                                " (more rows: MatmulShared, then the activation)"));
  }
  const DType type = gate.dtype();
  const int64_t rows = gate.dim(0), in = gate.row_elems();
  if (n == 0 || rows == 0 || in == 0) return absl::OkStatus();
  if (x == nullptr) return Invalid(kFn, "x", "is null");
  if (out == nullptr) return Invalid(kFn, "out", "is null");
  if (absl::Status s = scratch.Check(kFn, type, n, in); !s.ok()) return s;
  if (IsFloat(type)) {
    LLMW_CUDA_RETURN_IF_ERROR(
        cuda_launch::GemvGated(type, gate.data(), up.data(), rows, in, x, n, act, out, stream));
    return absl::OkStatus();
  }
  if (absl::Status s = scratch.QuantizeFor(type, x, n, in, stream); !s.ok()) return s;
  LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::MatVecGated(
      type, gate.data(), up.data(), rows, in, scratch.quants(), scratch.scales(), scratch.sums(),
      scratch.group_sums(), n, act, out, stream));
  return absl::OkStatus();
}

absl::Status RepackWeights(const Tensor& w, cudaStream_t stream) {
  if (cuda_blocks::SplitOf(w.dtype()).quants_bytes == 0) return absl::OkStatus();  // not blocks
  if (absl::Status s = CheckWeight("cuda::RepackWeights", "w", w); !s.ok()) return s;
  if (w.rows() == 0 || w.row_elems() == 0) return absl::OkStatus();
  LLMW_CUDA_RETURN_IF_ERROR(
      cuda_launch::RepackRows(w.dtype(), w.data(), w.rows(), w.row_elems(), stream));
  return absl::OkStatus();
}

absl::Status Embed(float* out, const Tensor& table, const int32_t* tokens, int64_t n, float scale,
                   cudaStream_t stream) {
  constexpr absl::string_view kFn = "cuda::Embed";
  if (absl::Status s = CheckWeight(kFn, "table", table); !s.ok()) return s;
  if (n < 0) return Invalid(kFn, "n", absl::StrCat("= ", n, " < 0"));
  if (n == 0 || table.row_elems() == 0) return absl::OkStatus();
  if (out == nullptr) return Invalid(kFn, "out", "is null");
  if (tokens == nullptr) return Invalid(kFn, "tokens", "is null");
  LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::Embed(out, table.dtype(), table.data(), table.dim(0),
                                               table.row_elems(), tokens, n, scale, stream));
  return absl::OkStatus();
}

absl::Status QuantizeRowsQ8(const float* x, int64_t n, int64_t in, int8_t* q, float* d, float* s,
                            cudaStream_t stream) {
  constexpr absl::string_view kFn = "cuda::QuantizeRowsQ8";
  if (n < 0 || in < 0 || in % 32 != 0) {
    return Invalid(kFn, "n or in", absl::StrCat(n, " rows of ", in, ": not rows of blocks of 32"));
  }
  if (n * in == 0) return absl::OkStatus();
  if (x == nullptr || q == nullptr || d == nullptr || s == nullptr) {
    return Invalid(kFn, "x, q, d or s", "is null");
  }
  LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::QuantizeQ8(x, n, in, q, d, s, stream));
  return absl::OkStatus();
}

absl::Status QuantizeRowsQ8K(const float* x, int64_t n, int64_t in, int8_t* q, int16_t* bsums,
                             float* d, cudaStream_t stream) {
  constexpr absl::string_view kFn = "cuda::QuantizeRowsQ8K";
  if (n < 0 || in < 0 || in % 256 != 0) {
    return Invalid(kFn, "n or in", absl::StrCat(n, " rows of ", in, ": not rows of blocks of 256"));
  }
  if (n * in == 0) return absl::OkStatus();
  if (x == nullptr || q == nullptr || bsums == nullptr || d == nullptr) {
    return Invalid(kFn, "x, q, bsums or d", "is null");
  }
  LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::QuantizeQ8K(x, n, in, q, bsums, d, stream));
  return absl::OkStatus();
}

}  // namespace llmw::cuda
