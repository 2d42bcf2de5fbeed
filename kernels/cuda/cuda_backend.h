// CudaBackend: the Backend on one NVIDIA GPU — custom kernels (kernels/cuda/*.cu) plus cuBLAS, all
// queued on one stream of its own, so that a step runs without host synchronization until the
// runner reads its logits.
//
// Memory: weights are uploaded once, at PlaceWeights, into a device arena per call (row views and
// tied embeddings stay views of one copy). The rows of every block-format tensor, tables as well
// as matmul weights, are rewritten there into the layout all the CUDA kernels read
// (repacked_layout.h). Activations, the KV cache and the step's tables come from Allocate (device
// memory, or page-locked host memory for what the host fills or reads each step). The KV cache
// budget is a share of the device memory (`memory_utilization` of the total) left after
// everything allocated so far.
//
// Errors: a failed argument check, kernel launch, copy or cuBLAS call is recorded with the name of
// the call and returned by the next Synchronize (Backend's convention); nothing aborts.
//
// Graphs: BeginCapture/EndCapture record the ops queued in between as a CUDA graph (stream
// capture); Replay launches it. cuBLAS has a workspace of its own, so captured GEMMs allocate none.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/cublas_handle.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/graph.h"
#include "kernels/cuda/matmul.h"
#include "kernels/cuda/stream.h"

namespace llmw::cuda {

struct CudaBackendOptions {
  int device = 0;
  // Share of the GPU's memory this process may fill (weights, workspaces and KV cache).
  double memory_utilization = 0.9;
};

class CudaBackend final : public Backend {
 public:
  // UNAVAILABLE when no usable GPU is there (no driver, no device, too old a driver).
  static absl::StatusOr<std::unique_ptr<CudaBackend>> Create(const CudaBackendOptions& options);
  ~CudaBackend() override;

  Device device() const override { return Device::kCuda; }
  std::string Describe() const override { return description_; }
  int64_t MaxHeadDim() const override { return kMaxPagedAttentionHeadDim; }

  absl::StatusOr<Buffer> Allocate(int64_t bytes, MemoryKind kind) override;
  int64_t KvCacheBudget() const override;
  void Upload(void* dst, const void* host_src, int64_t bytes) override;
  void Download(void* host_dst, const void* src, int64_t bytes) override;
  absl::Status Synchronize() override;
  absl::Status ReserveScratch(int64_t max_rows, int64_t max_width) override;
  absl::Status PlaceWeights(std::span<const WeightSlot> slots) override;
  int64_t WeightBytes() const override { return weight_bytes_; }

  void Embed(const Tensor& out, const Tensor& table, const StepLayout& step, float scale) override;
  void RmsNorm(const Tensor& out, const Tensor& x, const Tensor& w, float eps,
               float w_offset) override;
  void LayerNorm(const Tensor& out, const Tensor& x, const Tensor& w, const Tensor& b,
                 float eps) override;
  void Matmul(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias) override;
  void MatmulShared(std::span<const MatmulOutput> outputs, const Tensor& x) override;
  void RopeAngles(const Tensor& cos, const Tensor& sin, const StepLayout& step,
                  const Tensor& inv_freq) override;
  void Rope(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t head_dim,
            int64_t rot_dim, RopePairing pairing) override;
  void SiluMul(const Tensor& out, const Tensor& gate, const Tensor& up) override;
  void GeluTanh(const Tensor& out, const Tensor& x) override;
  void GeluTanhMul(const Tensor& out, const Tensor& gate, const Tensor& up) override;
  void Add(const Tensor& out, const Tensor& a, const Tensor& b) override;
  void Scale(const Tensor& out, const Tensor& x, float scale) override;
  void WriteKv(const PagedKvLayer& kv, const Tensor& k, const Tensor& v,
               const StepLayout& step) override;
  void PagedAttention(const Tensor& out, const Tensor& q, const PagedKvLayer& kv,
                      const StepLayout& step, const AttentionParams& params) override;
  void GatherRows(const Tensor& out, const Tensor& x, const StepLayout& step) override;
  void AddRmsNorm(const Tensor& out, const Tensor& residual, const Tensor& x, const Tensor& w,
                  float eps, float w_offset) override;
  void AddLayerNorm(const Tensor& out, const Tensor& residual, const Tensor& x, const Tensor& w,
                    const Tensor& b, float eps) override;
  void RopeWriteKv(const PagedKvLayer& kv, const Tensor& q, const Tensor& k, const Tensor& v,
                   const Tensor& cos, const Tensor& sin, const StepLayout& step, int64_t rot_dim,
                   RopePairing pairing) override;
  void MatmulGated(const Tensor& out, const Tensor& x, const Tensor& w_gate, const Tensor& w_up,
                   GatedActivation act, const Tensor& up) override;

  bool CapturesGraphs() const override { return true; }
  absl::Status BeginCapture() override;
  absl::StatusOr<int> EndCapture() override;
  void Replay(int graph) override;

  void TopCandidates(int32_t* top_ids, float* top_values, float* extra_values, const Tensor& logits,
                     int64_t top_n, const int32_t* extra_ids,
                     const int32_t* extra_offsets) override;
  void MaskLogits(const Tensor& logits, const uint32_t* allowed,
                  const int32_t* mask_offsets) override;

 private:
  CudaBackend(const CudaBackendOptions& options, std::string description, CudaStream stream,
              DeviceBuffer cublas_workspace, CublasHandle cublas);
  void Free(void* data) override;
  // Records a failure of `op` and returns false unless `ok`.
  bool Check(bool ok, const char* op, const char* what);

  const CudaBackendOptions options_;
  const std::string description_;
  CudaStream stream_;
  DeviceBuffer cublas_workspace_;  // the handle's, set explicitly so that captures allocate none
  CublasHandle cublas_;
  MatmulScratch scratch_;
  AttentionScratch attention_scratch_;   // split decode partials, sized by ReserveScratch
  DeviceBuffer top_candidates_scratch_;  // TopCandidates' slices, from ReserveScratch
  std::vector<DeviceBuffer> weights_;    // one arena per PlaceWeights call
  int64_t weight_bytes_ = 0;
  int64_t max_weight_rows_ = 0;  // the most rows of a matmul weight (sizes the scratch)
  std::unordered_set<void*> host_allocations_;  // page-locked, freed with cudaFreeHost
  std::vector<CudaGraph> graphs_;               // Replay's handles index this
  bool capturing_ = false;
};

}  // namespace llmw::cuda
