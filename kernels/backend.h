// Backend: the ops a forward pass is written against, and the memory they run on.
//
// A family's forward pass is written once against this interface; CpuBackend (kernels/cpu) and
// the CUDA backend (kernels/cuda) implement it. Every op mirrors a function of the same name and
// argument order in cpu:: and cuda:: (cpu::RmsNorm(out, x, w, ...) ↔ cuda::RmsNorm(out, x, w, ...,
// stream)); the CPU one is the numerical reference for the other.
//
// Tensors are views tagged with the device their memory is on; an op takes tensors of its
// backend's device. Activations are f32 rows, one per token: [n, width]. Ops run in the order
// they are called and may return before their results exist (a GPU queues them on a stream):
// Download and Synchronize are the points where results reach the host. A forward pass reads no
// activation data on the host, only sizes, so a GPU can capture a whole step as one graph.
//
// Errors: an op never returns a status. A failure (arguments the backend cannot run, a device
// error) is recorded, the first one only, naming the op; Synchronize() returns it and clears it.
// After a failure, outputs are undefined until that call. Memory allocation and weight placement
// return their status directly.
//
// A backend is used from one thread at a time: its owner's (a model runner's).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/op_params.h"
#include "kernels/paged_kv.h"
#include "kernels/step_layout.h"
#include "kernels/tensor.h"

namespace llmw {

class Backend;

// Memory from a backend, returned to it when the buffer goes. Move-only.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Backend* owner, void* data, int64_t bytes) : owner_(owner), data_(data), bytes_(bytes) {}
  Buffer(Buffer&& other) noexcept { *this = std::move(other); }
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { Reset(); }

  void* data() const { return data_; }
  int64_t bytes() const { return bytes_; }
  void Reset();

 private:
  Backend* owner_ = nullptr;
  void* data_ = nullptr;
  int64_t bytes_ = 0;
};

// Where an allocation lives: the backend's device, or host memory the device reads and writes
// fast (page-locked on a GPU; plain memory on the CPU), for a step's inputs and outputs.
enum class MemoryKind { kDevice, kHost };

// How a forward pass uses a weight tensor.
enum class WeightUse {
  kMatmul,  // the W of a matmul (may be repacked for the backend's kernels)
  kOther,   // embeddings, norms, biases, tables: read as stored
};

struct WeightSlot {
  Tensor* tensor;
  WeightUse use;
};

// One weight of a MatmulShared call, its output and its optional row bias.
struct MatmulOutput {
  Tensor y;     // [n, w rows]
  Tensor w;     // [out, in]
  Tensor bias;  // [out] f32, or empty
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual Device device() const = 0;
  // One line for logs: "cpu (2 threads, avx512vnni)".
  virtual std::string Describe() const = 0;
  // The largest head dimension PagedAttention takes.
  virtual int64_t MaxHeadDim() const = 0;

  // --- Memory ---

  // `bytes` bytes of `kind` memory, 64-byte aligned, contents unspecified.
  virtual absl::StatusOr<Buffer> Allocate(int64_t bytes, MemoryKind kind = MemoryKind::kDevice) = 0;
  // Bytes a KV cache may take now, after weights and workspaces: a share of the free host memory
  // on the CPU, of the free device memory on a GPU.
  virtual int64_t KvCacheBudget() const = 0;
  // Copies `bytes` bytes from host memory to this backend's memory / back, in op order. The host
  // memory must stay valid (and, for Download, unread) until Synchronize().
  virtual void Upload(void* dst, const void* host_src, int64_t bytes) = 0;
  virtual void Download(void* host_dst, const void* src, int64_t bytes) = 0;
  // Waits for every queued op; returns (and clears) the first failure since the last call.
  virtual absl::Status Synchronize() = 0;
  // Sizes the ops' own scratch memory (such as quantized activations) for calls of up to
  // `max_rows` rows of up to `max_width` elements, so that no op allocates; called at load, after
  // PlaceWeights (the scratch may depend on the weights' sizes).
  virtual absl::Status ReserveScratch(int64_t max_rows, int64_t max_width) = 0;

  // Makes each slot's host tensor (a mapped checkpoint's, or converted at load) one this
  // backend's ops take, replacing *slot.tensor: the same memory on the CPU (block-format matmul
  // weights also packed for its kernels), a device copy on a GPU. Row views of one tensor and
  // the same tensor in several slots (tied embeddings) stay views of one copy. The host memory
  // must stay unchanged, at the same address, for as long as the backend is used: what a backend
  // prepared may be found again by that address.
  virtual absl::Status PlaceWeights(std::span<const WeightSlot> slots) = 0;
  // Bytes of the backend's memory the placed weights took (on the CPU: their packed copies; the
  // mapped checkpoint is not counted).
  virtual int64_t WeightBytes() const = 0;

  // --- Ops (names and argument order mirror cpu:: and cuda::) ---

  // out[t] = table[step.tokens[t]] · scale, as f32; table [vocab, width] in any weight dtype.
  virtual void Embed(const Tensor& out, const Tensor& table, const StepLayout& step,
                     float scale) = 0;
  // out[r] = x[r] / sqrt(mean(x[r]²) + eps) · (w + w_offset) for every row r of x; w has one
  // row's width. Gemma's (1 + w) is w_offset 1; a per-head norm views x as [n · heads, head_dim].
  // `out` may be `x`.
  virtual void RmsNorm(const Tensor& out, const Tensor& x, const Tensor& w, float eps,
                       float w_offset) = 0;
  // out[r] = (x[r] - mean) / sqrt(var + eps) · w + b.
  virtual void LayerNorm(const Tensor& out, const Tensor& x, const Tensor& w, const Tensor& b,
                         float eps) = 0;
  // y = x · wᵀ (+ bias per row); x [n, in] f32, w [out, in] in any weight dtype, y [n, out].
  virtual void Matmul(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias) = 0;
  // Matmul for several weights that take the same x (q, k, v; gate, up); each output equals its
  // own Matmul call. At most 4 outputs.
  virtual void MatmulShared(std::span<const MatmulOutput> outputs, const Tensor& x) = 0;
  // cos/sin[t][i] of step.positions[t] · inv_freq[i]; inv_freq [half], cos and sin [n, half].
  virtual void RopeAngles(const Tensor& cos, const Tensor& sin, const StepLayout& step,
                          const Tensor& inv_freq) = 0;
  // Rotates the first `rot_dim` dims of every head of x ([n, heads · head_dim]) in place by the
  // angles of RopeAngles (rot_dim / 2 per row).
  virtual void Rope(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t head_dim,
                    int64_t rot_dim, RopePairing pairing) = 0;
  // out = silu(gate) · up, element-wise; out may be gate or up.
  virtual void SiluMul(const Tensor& out, const Tensor& gate, const Tensor& up) = 0;
  // out = gelu_tanh(x); out may be x.
  virtual void GeluTanh(const Tensor& out, const Tensor& x) = 0;
  // out = gelu_tanh(gate) · up; out may be gate or up.
  virtual void GeluTanhMul(const Tensor& out, const Tensor& gate, const Tensor& up) = 0;
  // out = a + b, element-wise; out may be a or b.
  virtual void Add(const Tensor& out, const Tensor& a, const Tensor& b) = 0;
  // out = x · scale; out may be x.
  virtual void Scale(const Tensor& out, const Tensor& x, float scale) = 0;
  // Stores each token's keys and values (k, v [n, n_kv_heads · head_dim] f32) at its slot
  // (step.kv_slots), converted to the cache's dtype.
  virtual void WriteKv(const PagedKvLayer& kv, const Tensor& k, const Tensor& v,
                       const StepLayout& step) = 0;
  // Causal attention of every token's queries (q [n, n_heads · head_dim]) over its sequence's
  // cached keys and values up to its own position (within the sliding window): out has q's shape.
  // The step's keys and values must already be written.
  virtual void PagedAttention(const Tensor& out, const Tensor& q, const PagedKvLayer& kv,
                              const StepLayout& step, const AttentionParams& params) = 0;
  // out[i] = x[step.logit_rows[i]] for the step's logit rows.
  virtual void GatherRows(const Tensor& out, const Tensor& x, const StepLayout& step) = 0;

  // --- Fused ops: what a forward pass always runs back to back, as one call ---
  // Each equals the sequence of ops it names; on the CPU bit for bit.

  // residual += x, then out = RmsNorm(residual): Add(residual, residual, x) followed by
  // RmsNorm(out, residual, w, eps, w_offset). `out` may be `x`.
  virtual void AddRmsNorm(const Tensor& out, const Tensor& residual, const Tensor& x,
                          const Tensor& w, float eps, float w_offset) = 0;
  // residual += x, then out = LayerNorm(residual). `out` may be `x`.
  virtual void AddLayerNorm(const Tensor& out, const Tensor& residual, const Tensor& x,
                            const Tensor& w, const Tensor& b, float eps) = 0;
  // Rope(q) and Rope(k) in place (head_dim kv.head_dim), then WriteKv(kv, k, v, step).
  virtual void RopeWriteKv(const PagedKvLayer& kv, const Tensor& q, const Tensor& k,
                           const Tensor& v, const Tensor& cos, const Tensor& sin,
                           const StepLayout& step, int64_t rot_dim, RopePairing pairing) = 0;
  // out = act(x · w_gateᵀ) · (x · w_upᵀ): MatmulShared of the two weights, then SiluMul or
  // GeluTanhMul. `up` ([n, w_up rows]) is scratch the op may use; its contents are undefined
  // afterwards.
  virtual void MatmulGated(const Tensor& out, const Tensor& x, const Tensor& w_gate,
                           const Tensor& w_up, GatedActivation act, const Tensor& up) = 0;

  // --- Graphs: a step's ops recorded once and replayed ---
  //
  // A backend that launches ops one by one (a GPU) can record the ops of a step as a graph and
  // replay it later at a fraction of the launch cost. A replay repeats the recorded ops with the
  // recorded arguments: the same sizes and the same memory, whose contents may have changed. A
  // backend that does not capture (the CPU) keeps the defaults, and its owner runs every step.

  // Whether BeginCapture can succeed.
  virtual bool CapturesGraphs() const { return false; }
  // From here to EndCapture, ops are recorded, not run. No Allocate, Upload, Download or
  // Synchronize may come in between.
  virtual absl::Status BeginCapture() {
    return absl::UnimplementedError("this backend does not capture graphs");
  }
  // Ends the recording begun by BeginCapture and returns a handle for Replay. A failure of any op
  // recorded, or of the capture itself, fails it (nothing is kept, and the backend is ready for
  // ops again); it is never fatal.
  virtual absl::StatusOr<int> EndCapture() {
    return absl::UnimplementedError("this backend does not capture graphs");
  }
  // Queues the ops of graph `graph` (a handle EndCapture returned), in op order.
  virtual void Replay(int /*graph*/) {
    Fail(absl::UnimplementedError("this backend does not capture graphs"));
  }

  // --- Sampling candidates ---

  // What a sampler needs of logit rows instead of the rows (kernels/cpu/top_candidates.h). For
  // each row r of `logits` ([rows, vocab] f32): the `top_n` largest values (a tie goes to the
  // lower id; -0 ranks as +0, NaN below -inf) as top_ids/top_values[r · top_n + i] in ascending
  // id order, and extra_values[j] = logits[r][extra_ids[j]] for j in [extra_offsets[r],
  // extra_offsets[r + 1]) (rows + 1 entries). Arrays in this backend's memory; 1 <= top_n <= vocab.
  virtual void TopCandidates(int32_t* top_ids, float* top_values, float* extra_values,
                             const Tensor& logits, int64_t top_n, const int32_t* extra_ids,
                             const int32_t* extra_offsets) = 0;
  // Applies structured outputs' token masks (kernels/cpu/mask_logits.h) to the rows of `logits`
  // ([rows, vocab] f32) whose mask_offsets entry is >= 0: their forbidden entries become -inf.
  // `allowed` and `mask_offsets` (rows entries) in this backend's memory.
  virtual void MaskLogits(const Tensor& logits, const uint32_t* allowed,
                          const int32_t* mask_offsets) = 0;

 protected:
  // Records `status` unless an earlier failure is pending.
  void Fail(absl::Status status);
  // Records `status` (Fail) unless it is OK; returns whether it was OK.
  bool Record(const absl::Status& status);
  // The pending failure, cleared.
  absl::Status TakeFailure();

 private:
  friend class Buffer;
  virtual void Free(void* data) = 0;

  absl::Status failure_;
};

}  // namespace llmw
