// Argument checks and Status for the kernels of kv_write.cu and attention.cu, and the decode
// split plan and its scratch.
#include "kernels/cuda/attention.h"

#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "kernels/cuda/attention_launch.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/decode_plan.h"
#include "kernels/dtype.h"
#include "kernels/status_macros.h"

namespace llmw::cuda {
namespace {

static_assert(kMaxPagedAttentionHeadDim == cuda_launch::kMaxPagedAttentionHeadDim);

constexpr int64_t kMaxGridX = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxGridY = 65535;

absl::Status Invalid(const char* function, const auto&... what) {
  return absl::InvalidArgumentError(absl::StrCat("cuda::", function, ": ", what...));
}

// The checks of the cache that both ops share.
absl::Status CheckCache(const char* function, const PagedKvLayer& kv) {
  if (kv.k == nullptr || kv.v == nullptr) return Invalid(function, "kv.k or kv.v is null");
  if (!IsKvCacheDType(kv.dtype)) {
    return Invalid(function, "kv.dtype ", std::string(DTypeName(kv.dtype)),
                   " is not f32, f16 or bf16");
  }
  if (kv.n_kv_heads <= 0 || kv.head_dim <= 0) {
    return Invalid(function, "kv.n_kv_heads = ", kv.n_kv_heads, ", kv.head_dim = ", kv.head_dim,
                   ": both must be > 0");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AttentionScratch::Reserve(int64_t max_q_width) {
  if (max_q_width < 1) return Invalid("AttentionScratch::Reserve", "max_q_width = ", max_q_width);
  int device = 0, sm_count = 0, blocks_per_sm = 0;
  LLMW_CUDA_RETURN_IF_ERROR(cudaGetDevice(&device));
  LLMW_CUDA_RETURN_IF_ERROR(
      cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, device));
  LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::DecodeBlocksPerSm(&blocks_per_sm));
  target_blocks_ = DecodeTargetBlocks(sm_count, blocks_per_sm);
  const int64_t floats = MaxDecodeScratchFloats(target_blocks_, max_q_width);
  if (floats <= this->floats() && !buffer_.empty()) return absl::OkStatus();
  buffer_ = DeviceBuffer();  // the old one goes first: the peak is the new size
  ASSIGN_OR_RETURN(buffer_, DeviceBuffer::Allocate(static_cast<size_t>(floats) * sizeof(float)));
  return absl::OkStatus();
}

absl::Status WriteKv(const PagedKvLayer& kv, const float* k, const float* v, const int32_t* slots,
                     int64_t n, cudaStream_t stream) {
  if (n < 0 || n > kMaxGridX) return Invalid("WriteKv", "n = ", n, " is out of [0, 2^31)");
  if (n == 0) return absl::OkStatus();
  if (k == nullptr || v == nullptr || slots == nullptr) {
    return Invalid("WriteKv", "k, v or slots is null");
  }
  if (absl::Status s = CheckCache("WriteKv", kv); !s.ok()) return s;
  LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::WriteKv(kv, k, v, slots, n, stream));
  return absl::OkStatus();
}

absl::Status PagedAttention(float* out, const float* q, const PagedKvLayer& kv,
                            const StepLayout& step, const AttentionParams& params,
                            const AttentionScratch& scratch, cudaStream_t stream) {
  constexpr const char* kName = "PagedAttention";
  if (step.n_tokens < 0 || step.n_tokens > kMaxGridX) {
    return Invalid(kName, "step.n_tokens = ", step.n_tokens, " is out of [0, 2^31)");
  }
  if (step.n_tokens == 0) return absl::OkStatus();
  if (step.n_chunks <= 0 || step.n_chunks > kMaxGridX) {
    return Invalid(kName, "step.n_chunks = ", step.n_chunks, " with ", step.n_tokens, " tokens");
  }
  if (out == nullptr || q == nullptr || step.chunks == nullptr || step.block_tables == nullptr) {
    return Invalid(kName, "out, q, step.chunks or step.block_tables is null");
  }
  if (absl::Status s = CheckCache(kName, kv); !s.ok()) return s;
  if (kv.head_dim > kMaxPagedAttentionHeadDim) {
    return Invalid(kName, "kv.head_dim = ", kv.head_dim, " > ", kMaxPagedAttentionHeadDim);
  }
  if (kv.block_size <= 0 || kv.block_size > kMaxGridX) {
    return Invalid(kName, "kv.block_size = ", kv.block_size, " is out of (0, 2^31)");
  }
  if (params.n_heads <= 0 || params.n_heads > kMaxGridY || params.n_heads % kv.n_kv_heads != 0) {
    return Invalid(kName, "params.n_heads = ", params.n_heads,
                   " is not a multiple of kv.n_kv_heads = ", kv.n_kv_heads, " in (0, ", kMaxGridY,
                   "]");
  }
  const DecodePlan plan = PlanDecode(step.n_chunks, params.n_heads, kv.n_kv_heads, kv.head_dim,
                                     scratch.target_blocks(), scratch.floats());
  LLMW_CUDA_RETURN_IF_ERROR(
      cuda_launch::PagedAttention(out, q, kv, step, params, plan, scratch.data(), stream));
  return absl::OkStatus();
}

absl::Status RopeWriteKv(const PagedKvLayer& kv, float* q, float* k, const float* v,
                         const float* cos, const float* sin, const int32_t* slots, int64_t n,
                         int64_t n_heads, int64_t rot_dim, RopePairing pairing,
                         cudaStream_t stream) {
  constexpr const char* kName = "RopeWriteKv";
  if (n < 0 || n > kMaxGridX) return Invalid(kName, "n = ", n, " is out of [0, 2^31)");
  if (n == 0) return absl::OkStatus();
  if (q == nullptr || k == nullptr || v == nullptr || cos == nullptr || sin == nullptr ||
      slots == nullptr) {
    return Invalid(kName, "q, k, v, cos, sin or slots is null");
  }
  if (absl::Status s = CheckCache(kName, kv); !s.ok()) return s;
  if (n_heads <= 0) return Invalid(kName, "n_heads = ", n_heads, " must be > 0");
  if (rot_dim < 0 || rot_dim % 2 != 0 || rot_dim > kv.head_dim) {
    return Invalid(kName, "rot_dim = ", rot_dim, " is not even in [0, kv.head_dim = ", kv.head_dim,
                   "]");
  }
  LLMW_CUDA_RETURN_IF_ERROR(cuda_launch::RopeWriteKv(kv, q, k, v, cos, sin, slots, n, n_heads,
                                                     rot_dim, pairing == RopePairing::kRotateHalf,
                                                     stream));
  return absl::OkStatus();
}

}  // namespace llmw::cuda
