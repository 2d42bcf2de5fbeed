// CpuBackend: argument checks, then the cpu:: kernels on host memory.
#include "kernels/cpu/cpu_backend.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/mask_logits.h"
#include "kernels/cpu/matmul_internal.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/top_candidates.h"
#include "kernels/op_checks.h"

namespace llmw::cpu {
namespace {

// Share of the available host memory a KV cache may take by default.
constexpr double kKvShareOfAvailableMemory = 0.4;

// MemAvailable from /proc/meminfo, or 0 when unknown.
int64_t AvailableMemoryBytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

float* F32(const Tensor& t) { return t.data_as<float>(); }

bool IsF32(const Tensor& t) { return t.dtype() == DType::kF32 && t.device() == Device::kCpu; }

bool SameShape(const Tensor& a, const Tensor& b) {
  return a.rows() == b.rows() && a.row_elems() == b.row_elems();
}

}  // namespace

CpuBackend::CpuBackend(const CpuBackendOptions& options)
    : pool_(options.threads), reference_matmul_(options.reference_matmul) {}

std::string CpuBackend::Describe() const {
  return absl::StrCat("cpu (", pool_.num_threads(), " threads, ",
                      matmul_internal::IsaName(matmul_internal::BestIsa()),
                      reference_matmul_ ? ", reference matmul" : "", ")");
}

absl::StatusOr<Buffer> CpuBackend::Allocate(int64_t bytes, MemoryKind /*kind*/) {
  if (bytes < 0) return absl::InvalidArgumentError(absl::StrCat("allocate ", bytes, " bytes"));
  HugeBuffer memory = TryAllocateHugeBuffer(static_cast<size_t>(bytes));
  if (memory == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of host memory allocating ", bytes, " bytes"));
  }
  return Buffer(this, memory.release(), bytes);
}

void CpuBackend::Free(void* data) { HugeBufferDeleter()(data); }

int64_t CpuBackend::KvCacheBudget() const {
  return static_cast<int64_t>(AvailableMemoryBytes() * kKvShareOfAvailableMemory);
}

void CpuBackend::Upload(void* dst, const void* host_src, int64_t bytes) {
  if (bytes > 0) std::memcpy(dst, host_src, static_cast<size_t>(bytes));
}

void CpuBackend::Download(void* host_dst, const void* src, int64_t bytes) {
  if (bytes > 0) std::memcpy(host_dst, src, static_cast<size_t>(bytes));
}

absl::Status CpuBackend::Synchronize() { return TakeFailure(); }

absl::Status CpuBackend::ReserveScratch(int64_t max_rows, int64_t max_width) {
  if (max_rows < 1 || max_width < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("scratch for ", max_rows, " rows of ", max_width, " elements"));
  }
  scratch_.Reserve(max_rows, max_width);
  return absl::OkStatus();
}

absl::Status CpuBackend::PlaceWeights(std::span<const WeightSlot> slots) {
  for (const WeightSlot& slot : slots) {
    const Tensor& w = *slot.tensor;
    if (w.device() != Device::kCpu) {
      return absl::InvalidArgumentError(
          absl::StrCat("weight ", w.DebugString(), " is not in host memory"));
    }
    if (slot.use == WeightUse::kMatmul && !reference_matmul_ && IsPackable(w.dtype())) Packed(w);
  }
  return absl::OkStatus();
}

const PackedWeights& CpuBackend::Packed(const Tensor& w) {
  std::unique_ptr<PackedWeights>& packed = packed_[WeightKey(w.data(), w.rows(), w.dtype())];
  if (packed != nullptr) return *packed;
  constexpr int64_t kChunkBytes = int64_t{32} << 20;
  const int64_t bytes = PackedWeights::StorageBytes(w);  // a multiple of 64
  if (bytes > chunk_free_) {
    const int64_t size = std::max(kChunkBytes, bytes);
    chunks_.push_back(AllocateHugeBuffer(static_cast<size_t>(size)));
    chunk_next_ = static_cast<uint8_t*>(chunks_.back().get());
    chunk_free_ = size;
  }
  packed = std::make_unique<PackedWeights>(w, chunk_next_);
  chunk_next_ += bytes;
  chunk_free_ -= bytes;
  packed_bytes_ += bytes;
  return *packed;
}

bool CpuBackend::Check(bool ok, const char* op, const char* what) {
  if (!ok) Fail(absl::InvalidArgumentError(absl::StrCat("cpu ", op, ": ", what)));
  return ok;
}

void CpuBackend::Embed(const Tensor& out, const Tensor& table, const StepLayout& step,
                       float scale) {
  if (!Check(IsF32(out) && out.rows() >= step.n_tokens && out.row_elems() == table.row_elems(),
             "Embed", "output is not f32 [tokens, table width]")) {
    return;
  }
  cpu::Embed(F32(out), table, step.tokens, step.n_tokens, scale);
}

void CpuBackend::RmsNorm(const Tensor& out, const Tensor& x, const Tensor& w, float eps,
                         float w_offset) {
  if (!Record(op_checks::RmsNorm(device(), out, x, w))) return;
  cpu::RmsNorm(F32(out), F32(x), F32(w), x.rows(), x.row_elems(), eps, w_offset);
}

void CpuBackend::LayerNorm(const Tensor& out, const Tensor& x, const Tensor& w, const Tensor& b,
                           float eps) {
  if (!Record(op_checks::LayerNorm(device(), out, x, w, b))) return;
  cpu::LayerNorm(F32(out), F32(x), F32(w), F32(b), x.rows(), x.row_elems(), eps);
}

void CpuBackend::Matmul(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias) {
  const MatmulOutput output{y, w, bias};
  MatmulShared(std::span<const MatmulOutput>(&output, 1), x);
}

void CpuBackend::MatmulShared(std::span<const MatmulOutput> outputs, const Tensor& x) {
  constexpr size_t kMaxOutputs = 4;
  if (!Record(op_checks::MatmulShared(device(), outputs, x, kMaxOutputs))) return;
  const int64_t n = x.rows();
  bool shared = !reference_matmul_ && outputs.size() > 1;
  for (const MatmulOutput& o : outputs) shared = shared && IsPackable(o.w.dtype());
  if (shared) {
    MatmulTarget targets[kMaxOutputs];
    size_t count = 0;
    for (const MatmulOutput& o : outputs) targets[count++] = {&Packed(o.w), F32(o.y)};
    cpu::MatmulShared(std::span<const MatmulTarget>(targets, count), F32(x), n, pool_, scratch_);
  } else {
    for (const MatmulOutput& o : outputs) {
      if (reference_matmul_) {
        MatmulReference(o.w, F32(x), n, F32(o.y));
      } else if (IsPackable(o.w.dtype())) {
        cpu::Matmul(Packed(o.w), F32(x), n, F32(o.y), pool_, scratch_);
      } else {
        cpu::Matmul(o.w, F32(x), n, F32(o.y), pool_, scratch_);
      }
    }
  }
  for (const MatmulOutput& o : outputs) {
    if (!o.bias.empty()) AddRowBias(F32(o.y), F32(o.bias), n, o.w.dim(0));
  }
}

void CpuBackend::RopeAngles(const Tensor& cos, const Tensor& sin, const StepLayout& step,
                            const Tensor& inv_freq) {
  const int64_t half = inv_freq.elems();
  if (!Record(op_checks::RopeAngles(device(), cos, sin, step, inv_freq))) return;
  cpu::RopeAngles(F32(cos), F32(sin), step.positions, step.n_tokens, F32(inv_freq), half);
}

void CpuBackend::Rope(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t head_dim,
                      int64_t rot_dim, RopePairing pairing) {
  if (!Record(op_checks::Rope(device(), x, cos, sin, head_dim, rot_dim))) return;
  cpu::Rope(F32(x), F32(cos), F32(sin), x.rows(), x.row_elems() / head_dim, head_dim, rot_dim,
            pairing);
}

void CpuBackend::SiluMul(const Tensor& out, const Tensor& gate, const Tensor& up) {
  if (!Record(op_checks::SiluMul(device(), out, gate, up))) return;
  cpu::SiluMul(F32(out), F32(gate), F32(up), gate.elems());
}

void CpuBackend::GeluTanh(const Tensor& out, const Tensor& x) {
  if (!Record(op_checks::GeluTanh(device(), out, x))) return;
  cpu::GeluTanh(F32(out), F32(x), x.elems());
}

void CpuBackend::GeluTanhMul(const Tensor& out, const Tensor& gate, const Tensor& up) {
  if (!Record(op_checks::GeluTanhMul(device(), out, gate, up))) return;
  cpu::GeluTanhMul(F32(out), F32(gate), F32(up), gate.elems());
}

void CpuBackend::Add(const Tensor& out, const Tensor& a, const Tensor& b) {
  if (!Record(op_checks::Add(device(), out, a, b))) return;
  cpu::Add(F32(out), F32(a), F32(b), a.elems());
}

void CpuBackend::Scale(const Tensor& out, const Tensor& x, float scale) {
  if (!Record(op_checks::Scale(device(), out, x))) return;
  cpu::Scale(F32(out), F32(x), scale, x.elems());
}

void CpuBackend::WriteKv(const PagedKvLayer& kv, const Tensor& k, const Tensor& v,
                         const StepLayout& step) {
  if (!Record(op_checks::WriteKv(device(), kv, k, v, step))) return;
  cpu::WriteKv(kv, F32(k), F32(v), step.kv_slots, step.n_tokens);
}

void CpuBackend::PagedAttention(const Tensor& out, const Tensor& q, const PagedKvLayer& kv,
                                const StepLayout& step, const AttentionParams& params) {
  if (!Record(op_checks::PagedAttention(device(), out, q, kv, step, params))) return;
  cpu::PagedAttention(F32(out), F32(q), kv, step, params, pool_);
}

void CpuBackend::GatherRows(const Tensor& out, const Tensor& x, const StepLayout& step) {
  if (!Record(op_checks::GatherRows(device(), out, x, step))) return;
  cpu::GatherRows(F32(out), F32(x), step.logit_rows, step.n_logit_rows, x.row_elems());
}

void CpuBackend::AddRmsNorm(const Tensor& out, const Tensor& residual, const Tensor& x,
                            const Tensor& w, float eps, float w_offset) {
  if (!Record(op_checks::AddRmsNorm(device(), out, residual, x, w))) return;
  cpu::AddRmsNorm(F32(out), F32(residual), F32(x), F32(w), x.rows(), x.row_elems(), eps, w_offset);
}

void CpuBackend::AddLayerNorm(const Tensor& out, const Tensor& residual, const Tensor& x,
                              const Tensor& w, const Tensor& b, float eps) {
  if (!Record(op_checks::AddLayerNorm(device(), out, residual, x, w, b))) return;
  cpu::AddLayerNorm(F32(out), F32(residual), F32(x), F32(w), F32(b), x.rows(), x.row_elems(), eps);
}

void CpuBackend::RopeWriteKv(const PagedKvLayer& kv, const Tensor& q, const Tensor& k,
                             const Tensor& v, const Tensor& cos, const Tensor& sin,
                             const StepLayout& step, int64_t rot_dim, RopePairing pairing) {
  const int64_t n = step.n_tokens;
  if (!Record(op_checks::RopeWriteKv(device(), kv, q, k, v, cos, sin, step, rot_dim))) return;
  cpu::RopeWriteKv(kv, F32(q), F32(k), F32(v), F32(cos), F32(sin), step.kv_slots, n,
                   q.row_elems() / kv.head_dim, rot_dim, pairing);
}

void CpuBackend::MatmulGated(const Tensor& out, const Tensor& x, const Tensor& w_gate,
                             const Tensor& w_up, GatedActivation act, const Tensor& up) {
  if (!Check(IsF32(out) && IsF32(up) && SameShape(out, up) && w_gate.dim(0) == w_up.dim(0),
             "MatmulGated", "gate and up do not fit")) {
    return;
  }
  const MatmulOutput gate_up[] = {{out, w_gate, {}}, {up, w_up, {}}};
  MatmulShared(gate_up, x);
  const int64_t n = out.elems();
  if (act == GatedActivation::kSilu) {
    cpu::SiluMul(F32(out), F32(out), F32(up), n);
  } else {
    cpu::GeluTanhMul(F32(out), F32(out), F32(up), n);
  }
}

void CpuBackend::TopCandidates(int32_t* top_ids, float* top_values, float* extra_values,
                               const Tensor& logits, int64_t top_n, const int32_t* extra_ids,
                               const int32_t* extra_offsets) {
  if (!Check(IsF32(logits) && top_n >= 1 && top_n <= logits.row_elems(), "TopCandidates",
             "logits must be f32 rows of at least top_n >= 1 values") ||
      !Check(top_ids != nullptr && top_values != nullptr && extra_values != nullptr &&
                 extra_ids != nullptr && extra_offsets != nullptr,
             "TopCandidates", "null array")) {
    return;
  }
  cpu::TopCandidates(top_ids, top_values, extra_values, F32(logits), logits.rows(),
                     logits.row_elems(), top_n, extra_ids, extra_offsets, &top_candidates_scratch_);
}

void CpuBackend::MaskLogits(const Tensor& logits, const uint32_t* allowed,
                            const int32_t* mask_offsets) {
  if (!Check(IsF32(logits), "MaskLogits", "logits must be f32") ||
      !Check(allowed != nullptr && mask_offsets != nullptr, "MaskLogits", "null array")) {
    return;
  }
  cpu::MaskLogits(F32(logits), logits.rows(), logits.row_elems(), allowed, mask_offsets);
}

}  // namespace llmw::cpu
