// CudaBackend: memory on the device, weights uploaded once, and the cuda:: kernels on one stream.
#include "kernels/cuda/cuda_backend.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/mask_logits.h"
#include "kernels/cuda/matmul_gated.h"
#include "kernels/cuda/ops.h"
#include "kernels/cuda/repack_plan.h"
#include "kernels/cuda/silu_mul.h"
#include "kernels/cuda/top_candidates.h"
#include "kernels/op_checks.h"
#include "kernels/status_macros.h"

namespace llmw::cuda {
namespace {

// Device addresses of uploaded weights start on this boundary (cudaMalloc's own alignment).
constexpr int64_t kWeightAlignment = 256;

// cuBLAS's workspace. Left to itself, a handle takes its workspace from a pool it manages, and
// inside a graph capture from stream-ordered allocations that each captured graph keeps; set
// explicitly, every GEMM, captured or not, uses this one. 32 MiB is what cuBLAS's documentation
// recommends for Hopper (4 MiB suffices for older GPUs).
constexpr size_t kCublasWorkspaceBytes = size_t{32} << 20;

float* F32(const Tensor& t) { return t.data_as<float>(); }

bool IsF32(const Tensor& t) { return t.dtype() == DType::kF32 && t.device() == Device::kCuda; }

bool SameShape(const Tensor& a, const Tensor& b) {
  return a.rows() == b.rows() && a.row_elems() == b.row_elems();
}

}  // namespace

absl::StatusOr<std::unique_ptr<CudaBackend>> CudaBackend::Create(
    const CudaBackendOptions& options) {
  if (!(options.memory_utilization > 0 && options.memory_utilization <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("GPU memory utilization must be in (0, 1], got ", options.memory_utilization));
  }
  ASSIGN_OR_RETURN(const int count, CudaDeviceCount());
  if (options.device < 0 || options.device >= count) {
    return absl::UnavailableError(
        absl::StrCat("no CUDA device ", options.device, " (", count, " visible)"));
  }
  LLMW_CUDA_RETURN_IF_ERROR(cudaSetDevice(options.device));
  ASSIGN_OR_RETURN(std::string description, CudaDeviceSummary(options.device));
  ASSIGN_OR_RETURN(CudaStream stream, CudaStream::Create());
  ASSIGN_OR_RETURN(DeviceBuffer workspace, DeviceBuffer::Allocate(kCublasWorkspaceBytes));
  ASSIGN_OR_RETURN(CublasHandle cublas, CublasHandle::Create(stream.get()));
  // After the stream: cublasSetStream resets the workspace.
  LLMW_CUDA_RETURN_IF_ERROR(cublasSetWorkspace(cublas.get(), workspace.data(), workspace.size()));
  return std::unique_ptr<CudaBackend>(new CudaBackend(
      options, std::move(description), std::move(stream), std::move(workspace), std::move(cublas)));
}

CudaBackend::CudaBackend(const CudaBackendOptions& options, std::string description,
                         CudaStream stream, DeviceBuffer cublas_workspace, CublasHandle cublas)
    : options_(options),
      description_(std::move(description)),
      stream_(std::move(stream)),
      cublas_workspace_(std::move(cublas_workspace)),
      cublas_(std::move(cublas)) {}

CudaBackend::~CudaBackend() {
  // Work still queued may use memory the members free.
  cudaStreamSynchronize(stream_.get());
}

absl::StatusOr<Buffer> CudaBackend::Allocate(int64_t bytes, MemoryKind kind) {
  if (bytes < 0) return absl::InvalidArgumentError(absl::StrCat("allocate ", bytes, " bytes"));
  void* data = nullptr;
  const size_t size = static_cast<size_t>(std::max<int64_t>(bytes, 1));
  if (kind == MemoryKind::kHost) {
    LLMW_CUDA_RETURN_IF_ERROR(cudaMallocHost(&data, size));
    host_allocations_.insert(data);
  } else {
    LLMW_CUDA_RETURN_IF_ERROR(cudaMalloc(&data, size));
  }
  return Buffer(this, data, bytes);
}

void CudaBackend::Free(void* data) {
  // Frees wait for the device to finish with the memory; their errors have no one to go to.
  if (host_allocations_.erase(data) > 0) {
    cudaFreeHost(data);
  } else {
    cudaFree(data);
  }
}

int64_t CudaBackend::KvCacheBudget() const {
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) return 0;
  // What the process may still take: its share of the total, less what is already in use
  // (by it and by anyone else on the device).
  const double reserve = (1.0 - options_.memory_utilization) * static_cast<double>(total_bytes);
  return std::max<int64_t>(0, static_cast<int64_t>(static_cast<double>(free_bytes) - reserve));
}

bool CudaBackend::Check(bool ok, const char* op, const char* what) {
  if (!ok) Fail(absl::InvalidArgumentError(absl::StrCat("cuda ", op, ": ", what)));
  return ok;
}

void CudaBackend::Upload(void* dst, const void* host_src, int64_t bytes) {
  if (bytes <= 0) return;
  Record(CudaToStatus(cudaMemcpyAsync(dst, host_src, static_cast<size_t>(bytes),
                                      cudaMemcpyHostToDevice, stream_.get()),
                      "cudaMemcpyAsync (upload)", __FILE__, __LINE__));
}

void CudaBackend::Download(void* host_dst, const void* src, int64_t bytes) {
  if (bytes <= 0) return;
  Record(CudaToStatus(cudaMemcpyAsync(host_dst, src, static_cast<size_t>(bytes),
                                      cudaMemcpyDeviceToHost, stream_.get()),
                      "cudaMemcpyAsync (download)", __FILE__, __LINE__));
}

absl::Status CudaBackend::Synchronize() {
  const absl::Status synced = stream_.Synchronize();
  absl::Status failure = TakeFailure();
  return failure.ok() ? synced : failure;
}

absl::Status CudaBackend::ReserveScratch(int64_t max_rows, int64_t max_width) {
  if (max_rows < 1 || max_width < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("scratch for ", max_rows, " rows of ", max_width, " elements"));
  }
  if (top_candidates_scratch_.empty()) {
    ASSIGN_OR_RETURN(top_candidates_scratch_,
                     DeviceBuffer::Allocate(cuda::kTopCandidatesScratchBytes));
  }
  RETURN_IF_ERROR(scratch_.Reserve(max_rows, max_width, std::max<int64_t>(max_weight_rows_, 1)));
  // A step's queries are the input of the attention output projection: at most max_width wide.
  return attention_scratch_.Reserve(max_width);
}

absl::Status CudaBackend::PlaceWeights(std::span<const WeightSlot> slots) {
  // Each slot's host bytes; overlapping or touching ranges (tied embeddings, the row views of a
  // fused projection) become one upload, so views stay views.
  struct Range {
    const uint8_t* begin;
    const uint8_t* end;
    int64_t device_offset = 0;
  };
  std::vector<Range> ranges;
  for (const WeightSlot& slot : slots) {
    const Tensor& t = *slot.tensor;
    if (t.empty()) continue;
    if (t.device() != Device::kCpu) {
      return absl::InvalidArgumentError(
          absl::StrCat("cuda PlaceWeights: weight ", t.DebugString(), " is not in host memory"));
    }
    const auto* begin = static_cast<const uint8_t*>(t.data());
    ranges.push_back({begin, begin + t.bytes()});
    if (slot.use == WeightUse::kMatmul) max_weight_rows_ = std::max(max_weight_rows_, t.rows());
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  std::vector<Range> merged;
  int64_t total = 0;
  for (const Range& r : ranges) {
    if (!merged.empty() && r.begin <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, r.end);
      continue;
    }
    if (!merged.empty())
      total += (merged.back().end - merged.back().begin + kWeightAlignment - 1) / kWeightAlignment *
               kWeightAlignment;
    merged.push_back(r);
    merged.back().device_offset = total;
  }
  if (!merged.empty()) total += merged.back().end - merged.back().begin;
  if (total == 0) return absl::OkStatus();

  absl::StatusOr<DeviceBuffer> arena = DeviceBuffer::Allocate(static_cast<size_t>(total));
  if (!arena.ok()) {
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    return absl::ResourceExhaustedError(
        absl::StrCat("the weights take ", total, " bytes of GPU memory; ", free_bytes, " of ",
                     total_bytes, " are free (", arena.status().message(), ")"));
  }
  uint8_t* const base = arena->data_as<uint8_t>();
  weight_bytes_ += total;
  weights_.push_back(std::move(*arena));
  for (const Range& r : merged) {
    LLMW_CUDA_RETURN_IF_ERROR(cudaMemcpy(base + r.device_offset, r.begin,
                                         static_cast<size_t>(r.end - r.begin),
                                         cudaMemcpyHostToDevice));
  }
  std::vector<RowRun> runs;
  for (const WeightSlot& slot : slots) {
    Tensor& t = *slot.tensor;
    if (t.empty() || t.device() == Device::kCuda) continue;  // the same tensor in two slots
    const auto* host = static_cast<const uint8_t*>(t.data());
    const auto it = std::upper_bound(merged.begin(), merged.end(), host,
                                     [](const uint8_t* p, const Range& r) { return p < r.begin; });
    const Range& r = *(it - 1);
    t = t.WithData(base + r.device_offset + (host - r.begin), Device::kCuda);
    runs.push_back({t.dtype(), t.row_elems(), t.row(0) - base, t.rows()});
  }
  // Block-format rows into the kernels' layout, each row once however many views share it.
  LLMW_CUDA_RETURN_IF_ERROR(cudaDeviceSynchronize());  // the pageable uploads have landed
  ASSIGN_OR_RETURN(const std::vector<RowRun> repack, RowsToRepack(std::move(runs)));
  for (const RowRun& run : repack) {
    RETURN_IF_ERROR(RepackWeights(
        Tensor(run.dtype, {run.rows, run.row_elems}, base + run.offset, Device::kCuda),
        stream_.get()));
  }
  return stream_.Synchronize();
}

void CudaBackend::Embed(const Tensor& out, const Tensor& table, const StepLayout& step,
                        float scale) {
  if (!Check(IsF32(out) && table.device() == Device::kCuda && out.rows() >= step.n_tokens &&
                 out.row_elems() == table.row_elems(),
             "Embed", "output is not f32 [tokens, table width] on the device")) {
    return;
  }
  Record(cuda::Embed(F32(out), table, step.tokens, step.n_tokens, scale, stream_.get()));
}

void CudaBackend::RmsNorm(const Tensor& out, const Tensor& x, const Tensor& w, float eps,
                          float w_offset) {
  if (!Record(op_checks::RmsNorm(device(), out, x, w))) return;
  Record(cuda::RmsNorm(F32(out), F32(x), F32(w), x.rows(), x.row_elems(), eps, w_offset,
                       stream_.get()));
}

void CudaBackend::LayerNorm(const Tensor& out, const Tensor& x, const Tensor& w, const Tensor& b,
                            float eps) {
  if (!Record(op_checks::LayerNorm(device(), out, x, w, b))) return;
  Record(cuda::LayerNorm(F32(out), F32(x), F32(w), F32(b), x.rows(), x.row_elems(), eps,
                         stream_.get()));
}

void CudaBackend::Matmul(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias) {
  const MatmulOutput output{y, w, bias};
  MatmulShared(std::span<const MatmulOutput>(&output, 1), x);
}

void CudaBackend::MatmulShared(std::span<const MatmulOutput> outputs, const Tensor& x) {
  if (outputs.empty()) return;
  if (!Record(op_checks::MatmulShared(device(), outputs, x, 4))) return;
  const int64_t n = x.rows();
  SharedProduct products[cuda_launch::kMaxSharedWeights];
  for (size_t k = 0; k < outputs.size(); ++k) products[k] = {&outputs[k].w, F32(outputs[k].y)};
  if (!Record(cuda::MatmulShared(std::span<const SharedProduct>(products, outputs.size()), F32(x),
                                 n, scratch_, cublas_.get(), stream_.get()))) {
    return;
  }
  for (const MatmulOutput& o : outputs) {
    if (!o.bias.empty()) {
      Record(cuda::AddRowBias(F32(o.y), F32(o.bias), n, o.w.dim(0), stream_.get()));
    }
  }
}

void CudaBackend::RopeAngles(const Tensor& cos, const Tensor& sin, const StepLayout& step,
                             const Tensor& inv_freq) {
  const int64_t half = inv_freq.elems();
  if (!Record(op_checks::RopeAngles(device(), cos, sin, step, inv_freq))) return;
  Record(cuda::RopeAngles(F32(cos), F32(sin), step.positions, step.n_tokens, F32(inv_freq), half,
                          stream_.get()));
}

void CudaBackend::Rope(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t head_dim,
                       int64_t rot_dim, RopePairing pairing) {
  if (!Record(op_checks::Rope(device(), x, cos, sin, head_dim, rot_dim))) return;
  Record(cuda::Rope(F32(x), F32(cos), F32(sin), x.rows(), x.row_elems() / head_dim, head_dim,
                    rot_dim, pairing, stream_.get()));
}

void CudaBackend::SiluMul(const Tensor& out, const Tensor& gate, const Tensor& up) {
  if (!Record(op_checks::SiluMul(device(), out, gate, up))) return;
  Record(cuda::SiluMul(F32(out), F32(gate), F32(up), gate.elems(), stream_.get()));
}

void CudaBackend::GeluTanh(const Tensor& out, const Tensor& x) {
  if (!Record(op_checks::GeluTanh(device(), out, x))) return;
  Record(cuda::GeluTanh(F32(out), F32(x), x.elems(), stream_.get()));
}

void CudaBackend::GeluTanhMul(const Tensor& out, const Tensor& gate, const Tensor& up) {
  if (!Record(op_checks::GeluTanhMul(device(), out, gate, up))) return;
  Record(cuda::GeluTanhMul(F32(out), F32(gate), F32(up), gate.elems(), stream_.get()));
}

void CudaBackend::Add(const Tensor& out, const Tensor& a, const Tensor& b) {
  if (!Record(op_checks::Add(device(), out, a, b))) return;
  Record(cuda::Add(F32(out), F32(a), F32(b), a.elems(), stream_.get()));
}

void CudaBackend::Scale(const Tensor& out, const Tensor& x, float scale) {
  if (!Record(op_checks::Scale(device(), out, x))) return;
  Record(cuda::Scale(F32(out), F32(x), scale, x.elems(), stream_.get()));
}

void CudaBackend::WriteKv(const PagedKvLayer& kv, const Tensor& k, const Tensor& v,
                          const StepLayout& step) {
  if (!Record(op_checks::WriteKv(device(), kv, k, v, step))) return;
  Record(cuda::WriteKv(kv, F32(k), F32(v), step.kv_slots, step.n_tokens, stream_.get()));
}

void CudaBackend::PagedAttention(const Tensor& out, const Tensor& q, const PagedKvLayer& kv,
                                 const StepLayout& step, const AttentionParams& params) {
  if (!Record(op_checks::PagedAttention(device(), out, q, kv, step, params))) return;
  Record(
      cuda::PagedAttention(F32(out), F32(q), kv, step, params, attention_scratch_, stream_.get()));
}

void CudaBackend::GatherRows(const Tensor& out, const Tensor& x, const StepLayout& step) {
  if (!Record(op_checks::GatherRows(device(), out, x, step))) return;
  Record(cuda::GatherRows(F32(out), F32(x), step.logit_rows, step.n_logit_rows, x.row_elems(),
                          stream_.get()));
}

void CudaBackend::AddRmsNorm(const Tensor& out, const Tensor& residual, const Tensor& x,
                             const Tensor& w, float eps, float w_offset) {
  if (!Record(op_checks::AddRmsNorm(device(), out, residual, x, w))) return;
  Record(cuda::AddRmsNorm(F32(out), F32(residual), F32(x), F32(w), x.rows(), x.row_elems(), eps,
                          w_offset, stream_.get()));
}

void CudaBackend::AddLayerNorm(const Tensor& out, const Tensor& residual, const Tensor& x,
                               const Tensor& w, const Tensor& b, float eps) {
  if (!Record(op_checks::AddLayerNorm(device(), out, residual, x, w, b))) return;
  Record(cuda::AddLayerNorm(F32(out), F32(residual), F32(x), F32(w), F32(b), x.rows(),
                            x.row_elems(), eps, stream_.get()));
}

void CudaBackend::RopeWriteKv(const PagedKvLayer& kv, const Tensor& q, const Tensor& k,
                              const Tensor& v, const Tensor& cos, const Tensor& sin,
                              const StepLayout& step, int64_t rot_dim, RopePairing pairing) {
  const int64_t n = step.n_tokens;
  if (!Record(op_checks::RopeWriteKv(device(), kv, q, k, v, cos, sin, step, rot_dim))) return;
  Record(cuda::RopeWriteKv(kv, F32(q), F32(k), F32(v), F32(cos), F32(sin), step.kv_slots, n,
                           q.row_elems() / kv.head_dim, rot_dim, pairing, stream_.get()));
}

void CudaBackend::MatmulGated(const Tensor& out, const Tensor& x, const Tensor& w_gate,
                              const Tensor& w_up, GatedActivation act, const Tensor& up) {
  if (!Check(IsF32(out) && IsF32(up) && IsF32(x) && SameShape(out, up) && out.rows() == x.rows() &&
                 w_gate.device() == Device::kCuda && w_up.device() == Device::kCuda &&
                 w_gate.row_elems() == x.row_elems() && out.row_elems() == w_gate.dim(0),
             "MatmulGated", "gate and up do not fit")) {
    return;
  }
  Record(cuda::MatmulGated(w_gate, w_up, act, F32(x), x.rows(), F32(out), F32(up), scratch_,
                           cublas_.get(), stream_.get()));
}

absl::Status CudaBackend::BeginCapture() {
  if (capturing_) return absl::FailedPreconditionError("cuda BeginCapture: already capturing");
  // A failure of work queued before the capture stays pending for the Synchronize after that
  // work; a graph recorded now would be blamed for it.
  if (absl::Status pending = TakeFailure(); !pending.ok()) {
    Fail(pending);
    return absl::FailedPreconditionError("cuda BeginCapture: an earlier op failed");
  }
  RETURN_IF_ERROR(CudaGraph::BeginCapture(stream_.get()));
  capturing_ = true;
  return absl::OkStatus();
}

absl::StatusOr<int> CudaBackend::EndCapture() {
  if (!capturing_) return absl::FailedPreconditionError("cuda EndCapture: not capturing");
  capturing_ = false;
  absl::StatusOr<CudaGraph> graph = CudaGraph::EndCapture(stream_.get());
  // A recorded op that failed its checks or its launch makes the graph unusable, and its error
  // is the more telling one.
  RETURN_IF_ERROR(TakeFailure());
  if (!graph.ok()) return graph.status();
  graphs_.push_back(*std::move(graph));
  return static_cast<int>(graphs_.size() - 1);
}

void CudaBackend::Replay(int graph) {
  if (!Check(graph >= 0 && graph < static_cast<int>(graphs_.size()) && !capturing_, "Replay",
             "no such graph, or replayed inside a capture")) {
    return;
  }
  Record(graphs_[graph].Launch(stream_.get()));
}

void CudaBackend::TopCandidates(int32_t* top_ids, float* top_values, float* extra_values,
                                const Tensor& logits, int64_t top_n, const int32_t* extra_ids,
                                const int32_t* extra_offsets) {
  if (!Check(IsF32(logits), "TopCandidates", "logits must be f32 on the GPU")) return;
  Record(cuda::TopCandidates(top_ids, top_values, extra_values, F32(logits), logits.rows(),
                             logits.row_elems(), top_n, extra_ids, extra_offsets,
                             top_candidates_scratch_.data(),
                             static_cast<int64_t>(top_candidates_scratch_.size()), stream_.get()));
}

void CudaBackend::MaskLogits(const Tensor& logits, const uint32_t* allowed,
                             const int32_t* mask_offsets) {
  if (!Check(IsF32(logits), "MaskLogits", "logits must be f32 on the GPU")) return;
  Record(cuda::MaskLogits(F32(logits), logits.rows(), logits.row_elems(), allowed, mask_offsets,
                          stream_.get()));
}

}  // namespace llmw::cuda
