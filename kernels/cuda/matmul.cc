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

absl::Status Matmul(const Tensor& w, const float* x, int64_t n, float* y, MatmulScratch& scratch,
                    cublasHandle_t cublas, cudaStream_t stream) {
  constexpr absl::string_view kFn = "cuda::Matmul";
  if (absl::Status s = CheckWeight(kFn, "w", w); !s.ok()) return s;
  if (n < 0) return Invalid(kFn, "n", absl::StrCat("= ", n, " < 0"));
  const DType type = w.dtype();
  const int64_t out = w.dim(0), in = w.row_elems();
  if (!FitsInt(n) || !FitsInt(out) || !FitsInt(in)) {
    return Invalid(kFn, "w or n",
                   absl::StrCat("too large for cuBLAS: ", w.DebugString(), ", n ", n));
  }
  if (n == 0 || out == 0 || in == 0) return absl::OkStatus();
  if (x == nullptr) return Invalid(kFn, "x", "is null");
  if (y == nullptr) return Invalid(kFn, "y", "is null");
  const bool matvec = !IsFloat(type) && n <= cuda_launch::kMatVecMaxRows;
  if (!matvec && cublas == nullptr) return Invalid(kFn, "cublas", "is null");
  if (type != DType::kF32 && (n > scratch.max_n_ || in > scratch.max_in_)) {
    return Invalid(kFn, "scratch",
                   absl::StrCat("is reserved for ", scratch.max_n_, " rows of ", scratch.max_in_,
                                " elements, not ", n, " of ", in, " (MatmulScratch::Reserve)"));
  }

  if (type == DType::kF32) return Gemm(cublas, stream, CUDA_R_32F, w.data(), out, in, x, n, y, out);

  uint16_t* x16 = scratch.activations16_.data_as<uint16_t>();
  if (IsFloat(type)) {
    LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::ConvertF32(x, n * in, type, x16, stream));
    return Gemm(cublas, stream, type == DType::kF16 ? CUDA_R_16F : CUDA_R_16BF, w.data(), out, in,
                x16, n, y, out);
  }

  if (matvec) {
    int8_t* q = scratch.quants_.data_as<int8_t>();
    float* d = scratch.scales_.data_as<float>();
    float* s = scratch.sums_.data_as<float>();
    int16_t* bsums = scratch.group_sums_.data_as<int16_t>();
    if (IsKQuant(type)) {
      LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::QuantizeQ8K(x, n, in, q, bsums, d, stream));
    } else {
      LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::QuantizeQ8(x, n, in, q, d, s, stream));
    }
    LLMW_CUDA_RETURN_IF_ERROR(
        cuda_launch::MatVec(type, w.data(), out, in, q, d, s, bsums, n, y, stream));
    return absl::OkStatus();
  }

  // Many rows: bf16 GEMMs over tiles of dequantized weight rows. The tile is reused in stream
  // order, so a tile is rewritten only after the GEMM reading it has run.
  LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::ConvertF32(x, n * in, DType::kBF16, x16, stream));
  uint16_t* tile = scratch.weight_tile_.data_as<uint16_t>();
  const int64_t tile_rows = scratch.tile_bytes_ / (2 * in);
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
