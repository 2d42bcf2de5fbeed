// CpuBackend: the Backend on the host's cores, and the numerical reference for the others.
//
// It owns its thread pool (one per model runner, so models served side by side never share a
// pool), the matmul's scratch, and block-format weights packed for the SIMD kernels
// (packed_weights.h) at PlaceWeights. Ops run synchronously on the calling thread and the pool;
// memory is host memory, so Upload and Download are copies.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/huge_buffer.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/packed_weights.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cpu/top_candidates.h"

namespace llmw::cpu {

struct CpuBackendOptions {
  int threads = 0;  // counting the caller's; 0 = every core
  // Every matmul through the scalar reference (weights dequantized, f32 activations, double
  // accumulation) instead of the fast path that rounds activations to 8 bits. Much slower; for
  // correctness checks.
  bool reference_matmul = false;
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const CpuBackendOptions& options = {});

  Device device() const override { return Device::kCpu; }
  std::string Describe() const override;
  int64_t MaxHeadDim() const override { return kMaxAttentionHeadDim; }

  absl::StatusOr<Buffer> Allocate(int64_t bytes, MemoryKind kind) override;
  int64_t KvCacheBudget() const override;
  void Upload(void* dst, const void* host_src, int64_t bytes) override;
  void Download(void* host_dst, const void* src, int64_t bytes) override;
  absl::Status Synchronize() override;
  absl::Status ReserveScratch(int64_t max_rows, int64_t max_width) override;
  absl::Status PlaceWeights(std::span<const WeightSlot> slots) override;
  int64_t WeightBytes() const override { return packed_bytes_; }

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

  void TopCandidates(int32_t* top_ids, float* top_values, float* extra_values, const Tensor& logits,
                     int64_t top_n, const int32_t* extra_ids,
                     const int32_t* extra_offsets) override;
  void MaskLogits(const Tensor& logits, const uint32_t* allowed,
                  const int32_t* mask_offsets) override;

  int num_threads() const { return pool_.num_threads(); }

 private:
  void Free(void* data) override;
  // Records a failure of `op` and returns false unless `ok`.
  bool Check(bool ok, const char* op, const char* what);
  // The packed form of a block-format weight: packed by PlaceWeights, or else now (allocates).
  const PackedWeights& Packed(const Tensor& w);

  ThreadPool pool_;
  const bool reference_matmul_;
  MatmulScratch scratch_;
  TopCandidatesScratch top_candidates_scratch_;  // TopCandidates' memory, kept across steps
  // A weight is its memory, row count and type (row views of one tensor differ in the first
  // two).
  using WeightKey = std::tuple<const void*, int64_t, DType>;
  std::map<WeightKey, std::unique_ptr<PackedWeights>> packed_;
  // The packed weights' memory: large chunks on huge pages, since a decode step streams all of
  // them and 4 KiB pages would miss the TLB every few rows.
  std::vector<HugeBuffer> chunks_;
  uint8_t* chunk_next_ = nullptr;  // the free end of chunks_.back(),
  int64_t chunk_free_ = 0;         // this many bytes
  int64_t packed_bytes_ = 0;
};

}  // namespace llmw::cpu
