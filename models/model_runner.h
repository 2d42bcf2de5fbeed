// ModelRunner: one served model and everything a forward step of it needs — the backend its
// weights live on (with that backend's compute resources: a CPU runner's thread pool is its own),
// the paged KV cache, the activation workspace, the step's input tables and the logits. The
// engine (or a single-sequence caller) asks it for a step and reads the logit rows it samples.
//
// Memory is taken once, at Load: nothing is allocated per step. A runner is driven from one
// thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "kernels/backend_factory.h"
#include "models/kv_cache/kv_cache.h"
#include "models/model.h"
#include "models/workspace.h"

namespace llmw {

struct KvCacheOptions {
  // f32, f16 or bf16; unset: bf16 on a GPU (half the memory traffic of decode attention), f32 on
  // the CPU (which computes in f32 and would convert every element).
  std::optional<DType> dtype;
  int64_t block_size = KvCache::kDefaultBlockSize;
  // Bytes of KV cache; 0 = enough for max_sequences sequences at full context, within the
  // backend's budget (Backend::KvCacheBudget).
  int64_t bytes = 0;
};

// "f32", "f16", "bf16", or "auto" (unset: chosen by the device).
absl::StatusOr<std::optional<DType>> ParseKvCacheDType(std::string_view name);

struct RunnerOptions {
  BackendOptions backend;
  int64_t max_batch_tokens = 512;  // tokens one step may carry: sizes the workspace
  int64_t max_sequences = 64;      // chunks (sequences) one step may carry, and logit rows
  KvCacheOptions kv;
  // Runs every step op by op. Otherwise, on a backend that captures graphs (CUDA), a step of
  // decodes only is padded to a bucket of 1, 2, 4, ... max_sequences chunks and runs as that
  // bucket's graph: recorded at the bucket's first step, replayed at the next (see Forward).
  bool enforce_eager = false;
};

class ModelRunner {
 public:
  // Creates the backend, loads the checkpoint at `path` onto it, and allocates the rest.
  static absl::StatusOr<std::unique_ptr<ModelRunner>> Load(const std::string& path,
                                                           const RunnerOptions& options);
  // The same for a model already placed on `backend` (which the model must not outlive).
  static absl::StatusOr<std::unique_ptr<ModelRunner>> Create(std::unique_ptr<Backend> backend,
                                                             std::unique_ptr<Model> model,
                                                             const RunnerOptions& options);
  ~ModelRunner();

  const Model& model() const { return *model_; }
  const ModelInfo& info() const { return model_->info(); }
  const Tokenizer& tokenizer() const { return model_->tokenizer(); }
  Backend& backend() { return *backend_; }
  Device device() const { return backend_->device(); }
  KvCache& kv_cache() { return *kv_; }
  const KvCache& kv_cache() const { return *kv_; }
  int64_t max_batch_tokens() const { return options_.max_batch_tokens; }
  int64_t max_sequences() const { return options_.max_sequences; }

  // Bytes of the backend's memory each part takes.
  struct MemoryUse {
    int64_t weights = 0;
    int64_t workspace = 0;  // activations, step tables, logits, the ops' scratch excluded
    int64_t kv_cache = 0;
    int64_t total() const { return weights + workspace + kv_cache; }
  };
  MemoryUse memory_use() const;

  // The most candidates (top_n, and extra ids) a logit row may be read back as.
  static constexpr int64_t kMaxLogitCandidates = 1024;

  // Runs one step: checks the batch against the limits above, the model's context and
  // vocabulary and the KV cache (INVALID_ARGUMENT naming what does not fit), lays it out for the
  // backend, runs the forward pass and waits for it. A backend failure fails the step with that
  // status. Afterwards LogitRow(i) is the i-th logit row the batch asked for, in chunk order, or
  // Candidates(i) for a row that batch.readback asks to read as candidates.
  //
  // With graphs (unless RunnerOptions::enforce_eager), a decode step is padded to its bucket; the
  // bucket's first step runs op by op and is also recorded as a graph, later ones replay it. The
  // logits are bit for bit those of running the padded step op by op. A bucket whose recording
  // fails runs op by op from then on (the failure is written to stderr once).
  absl::Status Forward(const ForwardBatch& batch);
  // [vocab_size] logits of the last Forward, for a row read whole; valid until the next one.
  std::span<const float> LogitRow(int64_t i) const;
  int64_t num_logit_rows() const { return n_logit_rows_; }
  // Decode graphs recorded so far: one per bucket, none without graphs.
  int num_decode_graphs() const;

  // A logit row read as candidates: the top_n largest logits at least (the largest top_n of the
  // step, in ascending id order) and the logits at the row's extra ids, in their order.
  struct LogitCandidates {
    std::span<const int32_t> top_ids;
    std::span<const float> top_values;
    std::span<const float> extra_values;
  };
  // Valid until the next Forward.
  LogitCandidates Candidates(int64_t i) const;

 private:
  // Host staging and backend copies of a step's tables (StepLayout's arrays).
  struct StepTables;
  // Host and backend arrays of the candidates read back instead of whole rows.
  struct CandidateTables;

  ModelRunner(std::unique_ptr<Backend> backend, std::unique_ptr<Model> model,
              const RunnerOptions& options);
  absl::Status Allocate();
  absl::Status Validate(const ForwardBatch& batch) const;
  // Fills the staging tables from `batch`, padded to `bucket` chunks unless it is 0, and uploads
  // them: the step as the ops see it.
  StepLayout LayOut(const ForwardBatch& batch, int64_t bucket);
  // The bucket a step of `batch` runs as a graph of, or 0 to run it op by op.
  int64_t GraphBucket(const ForwardBatch& batch) const;
  // Runs the forward pass of `step`, through the graph of `bucket` unless that is 0.
  absl::Status RunStep(const StepLayout& step, const Tensor& logits, int64_t bucket);
  // Records the forward pass of `step` as a graph; returns its handle.
  absl::StatusOr<int> Record(const StepLayout& step, const Tensor& logits);
  // Queues the copies of what the host reads of the batch's logit rows after the forward pass
  // (padding rows of a bucket are not read): the candidates of the rows that batch.readback asks
  // for, and the other rows whole (from a GPU).
  void ReadBack(const ForwardBatch& batch, const Tensor& logits);
  // Stages the token masks of the batch's candidate rows (of the first `rows`) and their offsets;
  // returns how many rows have one.
  int64_t PackMasks(const ForwardBatch& batch, int64_t rows);

  std::unique_ptr<Backend> backend_;  // declared first: destroyed last
  std::unique_ptr<Model> model_;
  RunnerOptions options_;
  std::unique_ptr<KvCache> kv_;
  Workspace workspace_;
  std::unique_ptr<StepTables> tables_;
  Buffer logits_memory_;       // [max_sequences, vocab] on the backend
  Buffer host_logits_memory_;  // the same on the host, unless the backend's memory is the host's
  const float* host_logits_ = nullptr;
  int64_t n_logit_rows_ = 0;

  // Decode graphs: whether this runner uses them, and per bucket the backend's graph handle or
  // kNoGraph (not recorded yet) or kEagerBucket (its recording failed).
  static constexpr int kNoGraph = -1, kEagerBucket = -2;
  bool use_graphs_ = false;
  std::vector<int> bucket_graphs_;  // indexed by bucket
  bool reported_capture_failure_ = false;
  std::unique_ptr<CandidateTables> candidates_;
};

}  // namespace llmw
