// ModelRunner: load-time allocation, batch checks, step layout, decode graphs and the logits
// read-back.
#include "models/model_runner.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/registry.h"
#include "models/step_tables.h"

namespace llmw {

// A host buffer and its twin on the backend, of 4-byte words at the same offsets: the host fills
// (or reads) its side, and the words in use are copied across in op order.
struct MirroredWords {
  Buffer host, device;

  absl::Status Allocate(Backend& backend, int64_t words) {
    const int64_t bytes = words * int64_t{sizeof(int32_t)};
    ASSIGN_OR_RETURN(host, backend.Allocate(bytes, MemoryKind::kHost));
    ASSIGN_OR_RETURN(device, backend.Allocate(bytes));
    return absl::OkStatus();
  }
  template <typename T = int32_t>
  T* Host(int64_t offset) const {
    return reinterpret_cast<T*>(static_cast<int32_t*>(host.data()) + offset);
  }
  template <typename T = int32_t>
  T* Device(int64_t offset) const {
    return reinterpret_cast<T*>(static_cast<int32_t*>(device.data()) + offset);
  }
  void Upload(Backend& backend, int64_t offset, int64_t words) const {
    backend.Upload(Device(offset), Host(offset), words * int64_t{sizeof(int32_t)});
  }
  void Download(Backend& backend, int64_t offset, int64_t words) const {
    backend.Download(Host(offset), Device(offset), words * int64_t{sizeof(int32_t)});
  }
};

// The StepLayout arrays. Each step fills the host side and uploads the parts in use.
struct ModelRunner::StepTables : MirroredWords {
  int64_t max_tokens = 0, max_chunks = 0, max_block_entries = 0;

  // Offsets (in words) of each array.
  int64_t tokens() const { return 0; }
  int64_t positions() const { return max_tokens; }
  int64_t kv_slots() const { return 2 * max_tokens; }
  int64_t logit_rows() const { return 3 * max_tokens; }
  int64_t chunks() const { return 4 * max_tokens; }
  int64_t block_tables() const {
    return chunks() + max_chunks * static_cast<int64_t>(sizeof(StepChunk) / sizeof(int32_t));
  }
  int64_t total() const { return block_tables() + max_block_entries; }
};

// The arrays of the candidates read back instead of whole logit rows: per row up to
// kMaxLogitCandidates top ids, top values, extra ids and extra values, and the rows' offsets into
// the extra arrays; and the token masks of the rows that have one, packed, with each row's offset
// into them (-1 for none).
struct ModelRunner::CandidateTables : MirroredWords {
  int64_t max_rows = 0;
  int64_t mask_words = 0;  // 32-bit words of one row's mask
  int64_t top_n = 0;       // of the last Forward: the largest top_n of its rows, 0 for none

  int64_t array() const { return max_rows * kMaxLogitCandidates; }
  int64_t top_ids() const { return 0; }
  int64_t top_values() const { return array(); }
  int64_t extra_ids() const { return 2 * array(); }
  int64_t extra_values() const { return 3 * array(); }
  int64_t extra_offsets() const { return 4 * array(); }
  int64_t mask_offsets() const { return extra_offsets() + max_rows + 1; }
  int64_t masks() const { return mask_offsets() + max_rows; }
  int64_t total() const { return masks() + max_rows * mask_words; }
};

absl::StatusOr<std::optional<DType>> ParseKvCacheDType(std::string_view name) {
  if (name == "auto") return std::nullopt;
  if (name == "f32") return DType::kF32;
  if (name == "f16") return DType::kF16;
  if (name == "bf16") return DType::kBF16;
  return absl::InvalidArgumentError(
      absl::StrCat("KV cache dtype must be auto, f32, f16 or bf16, got '", std::string(name), "'"));
}

absl::StatusOr<std::unique_ptr<ModelRunner>> ModelRunner::Load(const std::string& path,
                                                               const RunnerOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, CreateBackend(options.backend));
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, LoadModel(path, *backend));
  return Create(std::move(backend), std::move(model), options);
}

absl::StatusOr<std::unique_ptr<ModelRunner>> ModelRunner::Create(std::unique_ptr<Backend> backend,
                                                                 std::unique_ptr<Model> model,
                                                                 const RunnerOptions& options) {
  if (options.max_batch_tokens < 1 || options.max_sequences < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_batch_tokens and max_sequences must be positive, got ",
                     options.max_batch_tokens, " and ", options.max_sequences));
  }
  std::unique_ptr<ModelRunner> runner(
      new ModelRunner(std::move(backend), std::move(model), options));
  RETURN_IF_ERROR(runner->Allocate());
  return runner;
}

ModelRunner::ModelRunner(std::unique_ptr<Backend> backend, std::unique_ptr<Model> model,
                         const RunnerOptions& options)
    : backend_(std::move(backend)), model_(std::move(model)), options_(options) {}

ModelRunner::~ModelRunner() = default;

ModelRunner::MemoryUse ModelRunner::memory_use() const {
  MemoryUse use;
  use.weights = backend_->WeightBytes();
  for (const Buffer& b : workspace_.memory) use.workspace += b.bytes();
  use.workspace += logits_memory_.bytes() + tables_->device.bytes() + candidates_->device.bytes();
  use.kv_cache = kv_->bytes();
  return use;
}

absl::Status ModelRunner::Allocate() {
  const ModelShape& shape = model_->shape();
  const ModelInfo& info = model_->info();
  if (shape.head_dim > backend_->MaxHeadDim()) {
    return absl::InvalidArgumentError(
        absl::StrCat("head_dim ", shape.head_dim, " is more than the ",
                     std::string(DeviceName(backend_->device())), " backend's attention takes (",
                     backend_->MaxHeadDim(), ")"));
  }
  const int64_t max_tokens = options_.max_batch_tokens;
  const int64_t max_sequences = options_.max_sequences;
  ASSIGN_OR_RETURN(workspace_, AllocateWorkspace(*backend_, shape, max_tokens));
  RETURN_IF_ERROR(backend_->ReserveScratch(max_tokens, shape.max_matmul_input()));

  const int64_t logits_bytes = max_sequences * shape.vocab_size * int64_t{sizeof(float)};
  ASSIGN_OR_RETURN(logits_memory_, backend_->Allocate(logits_bytes));
  if (backend_->device() == Device::kCpu) {
    host_logits_ = static_cast<const float*>(logits_memory_.data());
  } else {
    ASSIGN_OR_RETURN(host_logits_memory_, backend_->Allocate(logits_bytes, MemoryKind::kHost));
    host_logits_ = static_cast<const float*>(host_logits_memory_.data());
  }

  const KvCacheOptions& kv = options_.kv;
  if (kv.block_size < 1 || kv.bytes < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("KV cache: block size ", kv.block_size, " and size ", kv.bytes, " bytes"));
  }
  const DType kv_dtype =
      kv.dtype.value_or(backend_->device() == Device::kCpu ? DType::kF32 : DType::kBF16);
  if (!IsKvCacheDType(kv_dtype)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KV cache dtype ", std::string(DTypeName(kv_dtype)), " (f32, f16 or bf16 only)"));
  }
  const KvCacheShape kv_shape = shape.kv(kv_dtype);
  const int64_t block_bytes = kv.block_size * kv_shape.bytes_per_token();
  int64_t bytes = kv.bytes;
  if (bytes == 0) {
    const int64_t wanted = max_sequences * info.context_length * kv_shape.bytes_per_token();
    bytes = std::min(wanted, backend_->KvCacheBudget());
  }
  const int64_t num_blocks = bytes / block_bytes;
  if (num_blocks < 1 || num_blocks > INT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat("a KV cache of ", bytes,
                                                   " bytes cannot hold a whole number of blocks "
                                                   "of ",
                                                   block_bytes, " bytes"));
  }
  use_graphs_ = !options_.enforce_eager && backend_->CapturesGraphs();
  if (use_graphs_) bucket_graphs_.assign(std::min(max_sequences, max_tokens) + 1, kNoGraph);
  ASSIGN_OR_RETURN(kv_, KvCache::Create(kv_shape, kv.block_size, static_cast<int32_t>(num_blocks),
                                        *backend_, /*padding_block=*/use_graphs_));

  tables_ = std::make_unique<StepTables>();
  tables_->max_tokens = max_tokens;
  tables_->max_chunks = max_sequences;
  // One more entry for the padding chunks' block table.
  tables_->max_block_entries = max_sequences * kv_->BlocksFor(info.context_length) + 1;
  RETURN_IF_ERROR(tables_->Allocate(*backend_, tables_->total()));

  candidates_ = std::make_unique<CandidateTables>();
  candidates_->max_rows = max_sequences;
  candidates_->mask_words = 2 * ((shape.vocab_size + 63) / 64);
  RETURN_IF_ERROR(candidates_->Allocate(*backend_, candidates_->total()));
  return absl::OkStatus();
}

absl::Status ModelRunner::Validate(const ForwardBatch& batch) const {
  const int64_t n_tokens = batch.num_tokens();
  const int64_t context_length = model_->info().context_length;
  const int64_t vocab_size = model_->info().vocab_size;
  if (n_tokens == 0) return absl::InvalidArgumentError("forward: empty batch");
  if (n_tokens > options_.max_batch_tokens) {
    return absl::InvalidArgumentError(absl::StrCat("forward: batch of ", n_tokens,
                                                   " tokens exceeds max_batch_tokens ",
                                                   options_.max_batch_tokens));
  }
  const int64_t n_chunks = static_cast<int64_t>(batch.chunks.size());
  const int64_t n_rows = batch.num_logit_rows();
  if (n_chunks > options_.max_sequences || n_rows > options_.max_sequences) {
    return absl::InvalidArgumentError(
        absl::StrCat("forward: batch of ", n_chunks, " chunks asking for ", n_rows,
                     " logit rows exceeds max_sequences ", options_.max_sequences));
  }
  if (static_cast<int64_t>(batch.readback.size()) > n_rows) {
    return absl::InvalidArgumentError(absl::StrCat("forward: readback for ", batch.readback.size(),
                                                   " logit rows, the batch has ", n_rows));
  }
  const int64_t max_top_n = std::min(vocab_size, kMaxLogitCandidates);
  for (const LogitReadback& row : batch.readback) {
    if (row.top_n < 0 || row.top_n > max_top_n ||
        static_cast<int64_t>(row.extra_ids.size()) > kMaxLogitCandidates) {
      return absl::InvalidArgumentError(absl::StrCat(
          "forward: a logit row read as ", row.top_n, " top candidates and ", row.extra_ids.size(),
          " extra ids; at most ", max_top_n, " and ", kMaxLogitCandidates));
    }
    const int64_t mask_words = (vocab_size + 63) / 64;
    if (!row.allowed.empty() &&
        (row.top_n == 0 || static_cast<int64_t>(row.allowed.size()) != mask_words)) {
      return absl::InvalidArgumentError(
          absl::StrCat("forward: a token mask of ", row.allowed.size(), " words for a row read ",
                       row.top_n == 0 ? "whole" : "as candidates", "; masks are ", mask_words,
                       " words and go with candidates"));
    }
    for (int32_t id : row.extra_ids) {
      if (id < 0 || id >= vocab_size) {
        return absl::InvalidArgumentError(
            absl::StrCat("forward: candidate id ", id, " outside the vocabulary of ", vocab_size));
      }
    }
  }
  for (const SequenceChunk& chunk : batch.chunks) {
    if (chunk.tokens.empty() || chunk.blocks == nullptr) {
      return absl::InvalidArgumentError("forward: chunk without tokens or block table");
    }
    const int64_t end = chunk.start_pos + static_cast<int64_t>(chunk.tokens.size());
    if (chunk.start_pos < 0 || end > context_length) {
      return absl::InvalidArgumentError(absl::StrCat(
          "forward: positions up to ", end, " exceed the context length ", context_length));
    }
    const int64_t covered = chunk.blocks->capacity_tokens(kv_->block_size());
    if (covered < end) {
      return absl::InvalidArgumentError(
          absl::StrCat("forward: block table covers ", covered, " positions, ", end, " needed"));
    }
    for (int32_t block : chunk.blocks->blocks()) {
      if (block < 0 || block >= kv_->allocator().num_blocks()) {
        return absl::InvalidArgumentError(
            absl::StrCat("forward: block ", block, " is not in the KV cache"));
      }
    }
    for (int32_t token : chunk.tokens) {
      if (token < 0 || token >= vocab_size) {
        return absl::InvalidArgumentError(
            absl::StrCat("forward: token id ", token, " outside the vocabulary of ", vocab_size));
      }
    }
  }
  return absl::OkStatus();
}

StepLayout ModelRunner::LayOut(const ForwardBatch& batch, int64_t bucket) {
  const StepTables& t = *tables_;
  const int64_t block_size = kv_->block_size();
  const HostStepTables host{.tokens = t.Host(t.tokens()),
                            .positions = t.Host(t.positions()),
                            .kv_slots = t.Host(t.kv_slots()),
                            .logit_rows = t.Host(t.logit_rows()),
                            .chunks = reinterpret_cast<StepChunk*>(t.Host(t.chunks())),
                            .block_tables = t.Host(t.block_tables())};
  StepCounts counts = FillStepTables(batch, block_size, host);
  if (bucket > 0) counts = PadDecodeStep(counts, bucket, kv_->padding_block(), block_size, host);

  Backend& b = *backend_;
  t.Upload(b, t.tokens(), counts.n_tokens);
  t.Upload(b, t.positions(), counts.n_tokens);
  t.Upload(b, t.kv_slots(), counts.n_tokens);
  t.Upload(b, t.logit_rows(), counts.n_logit_rows);
  t.Upload(b, t.chunks(),
           counts.n_chunks * static_cast<int64_t>(sizeof(StepChunk) / sizeof(int32_t)));
  t.Upload(b, t.block_tables(), counts.n_block_entries);
  return StepLayout{.n_tokens = counts.n_tokens,
                    .n_chunks = counts.n_chunks,
                    .n_logit_rows = counts.n_logit_rows,
                    .decodes_only = counts.n_tokens == counts.n_chunks,  // chunks are never empty
                    .tokens = t.Device(t.tokens()),
                    .positions = t.Device(t.positions()),
                    .kv_slots = t.Device(t.kv_slots()),
                    .logit_rows = t.Device(t.logit_rows()),
                    .chunks = reinterpret_cast<const StepChunk*>(t.Device(t.chunks())),
                    .block_tables = t.Device(t.block_tables())};
}

int64_t ModelRunner::GraphBucket(const ForwardBatch& batch) const {
  if (!use_graphs_ || !IsDecodeStep(batch)) return 0;
  const int64_t max_bucket = static_cast<int64_t>(bucket_graphs_.size()) - 1;
  const int64_t bucket = DecodeBucket(static_cast<int64_t>(batch.chunks.size()), max_bucket);
  return bucket > 0 && bucket_graphs_[bucket] != kEagerBucket ? bucket : 0;
}

absl::Status ModelRunner::RunStep(const StepLayout& step, const Tensor& logits, int64_t bucket) {
  if (bucket == 0) return model_->Forward(step, workspace_, *kv_, logits);
  int& graph = bucket_graphs_[bucket];
  if (graph >= 0) {
    backend_->Replay(graph);
    return absl::OkStatus();
  }
  // The bucket's first step runs op by op (which also loads its kernels and lets cuBLAS settle
  // before anything is recorded), then is recorded, not run again, for the steps after it.
  RETURN_IF_ERROR(model_->Forward(step, workspace_, *kv_, logits));
  const absl::StatusOr<int> recorded = Record(step, logits);
  if (recorded.ok()) {
    graph = *recorded;
    return absl::OkStatus();
  }
  graph = kEagerBucket;
  if (!reported_capture_failure_) {
    reported_capture_failure_ = true;
    std::fprintf(stderr, "model runner: decode steps of %lld sequences run op by op: %s\n",
                 static_cast<long long>(bucket), recorded.status().ToString().c_str());
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ModelRunner::Record(const StepLayout& step, const Tensor& logits) {
  RETURN_IF_ERROR(backend_->BeginCapture());
  const absl::Status forward = model_->Forward(step, workspace_, *kv_, logits);
  absl::StatusOr<int> graph = backend_->EndCapture();  // ends the capture whatever happened
  RETURN_IF_ERROR(forward);
  return graph;
}

absl::Status ModelRunner::Forward(const ForwardBatch& batch) {
  n_logit_rows_ = 0;
  RETURN_IF_ERROR(Validate(batch));
  const int64_t bucket = GraphBucket(batch);
  const StepLayout step = LayOut(batch, bucket);
  const int64_t vocab = model_->info().vocab_size;
  const Tensor logits(DType::kF32, {step.n_logit_rows, vocab}, logits_memory_.data(),
                      backend_->device());
  absl::Status status = RunStep(step, logits, bucket);
  if (status.ok()) ReadBack(batch, logits);
  // Wait even after a failure: the tables and workspace must be idle before the next step.
  const absl::Status synced = backend_->Synchronize();
  if (status.ok()) status = synced;
  // Padding rows, after the batch's, are not the batch's.
  if (status.ok()) n_logit_rows_ = batch.num_logit_rows();
  return status;
}

int ModelRunner::num_decode_graphs() const {
  return static_cast<int>(
      std::count_if(bucket_graphs_.begin(), bucket_graphs_.end(), [](int g) { return g >= 0; }));
}

void ModelRunner::ReadBack(const ForwardBatch& batch, const Tensor& step_logits) {
  CandidateTables& c = *candidates_;
  const int64_t rows = batch.num_logit_rows();  // a bucket's padding rows come after these
  const int64_t vocab = step_logits.row_elems();
  const Tensor logits(DType::kF32, {rows, vocab}, logits_memory_.data(), backend_->device());
  const auto candidate_top_n = [&](int64_t r) {
    return r < static_cast<int64_t>(batch.readback.size()) ? batch.readback[r].top_n : 0;
  };
  int32_t* const offsets = c.Host<int32_t>(c.extra_offsets());
  int32_t* const extra_ids = c.Host<int32_t>(c.extra_ids());
  c.top_n = 0;
  offsets[0] = 0;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t n_extra = 0;
    if (candidate_top_n(r) > 0) {
      const std::span<const int32_t> ids = batch.readback[r].extra_ids;
      std::copy(ids.begin(), ids.end(), extra_ids + offsets[r]);
      n_extra = static_cast<int64_t>(ids.size());
      c.top_n = std::max(c.top_n, candidate_top_n(r));
    }
    offsets[r + 1] = offsets[r] + static_cast<int32_t>(n_extra);
  }
  if (c.top_n > 0) {
    const int64_t n_extra = offsets[rows];
    Backend& b = *backend_;
    if (const int64_t n_masks = PackMasks(batch, rows); n_masks > 0) {
      c.Upload(b, c.mask_offsets(), rows);
      c.Upload(b, c.masks(), n_masks * c.mask_words);
      b.MaskLogits(logits, c.Device<uint32_t>(c.masks()), c.Device<int32_t>(c.mask_offsets()));
    }
    c.Upload(b, c.extra_ids(), n_extra);
    c.Upload(b, c.extra_offsets(), rows + 1);
    backend_->TopCandidates(c.Device<int32_t>(c.top_ids()), c.Device<float>(c.top_values()),
                            c.Device<float>(c.extra_values()), logits, c.top_n,
                            c.Device<int32_t>(c.extra_ids()), c.Device<int32_t>(c.extra_offsets()));
    c.Download(b, c.top_ids(), rows * c.top_n);
    c.Download(b, c.top_values(), rows * c.top_n);
    c.Download(b, c.extra_values(), n_extra);
  }
  if (host_logits_memory_.data() == nullptr) return;  // the host reads the logits where they are
  // The whole rows, each run of consecutive ones in one copy.
  const auto* device_logits = static_cast<const float*>(logits_memory_.data());
  auto* host_logits = static_cast<float*>(host_logits_memory_.data());
  for (int64_t r = 0; r < rows;) {
    int64_t end = r;
    while (end < rows && candidate_top_n(end) == 0) ++end;
    if (end > r) {
      backend_->Download(host_logits + r * vocab, device_logits + r * vocab,
                         (end - r) * vocab * int64_t{sizeof(float)});
    }
    r = end + 1;
  }
}

int64_t ModelRunner::PackMasks(const ForwardBatch& batch, int64_t rows) {
  // A mask's 64-bit words are read as 32-bit ones: bit v % 32 of word v / 32.
  static_assert(std::endian::native == std::endian::little);
  CandidateTables& c = *candidates_;
  int32_t* const mask_offsets = c.Host<int32_t>(c.mask_offsets());
  int64_t n_masks = 0;
  for (int64_t r = 0; r < rows; ++r) {
    mask_offsets[r] = -1;
    if (r >= static_cast<int64_t>(batch.readback.size())) continue;
    const LogitReadback& row = batch.readback[r];
    if (row.top_n == 0 || row.allowed.empty()) continue;
    mask_offsets[r] = static_cast<int32_t>(n_masks * c.mask_words);
    std::memcpy(c.Host(c.masks() + n_masks * c.mask_words), row.allowed.data(),
                row.allowed.size_bytes());
    ++n_masks;
  }
  return n_masks;
}

ModelRunner::LogitCandidates ModelRunner::Candidates(int64_t i) const {
  const CandidateTables& c = *candidates_;
  const int32_t* offsets = c.Host<int32_t>(c.extra_offsets());
  const size_t top_n = static_cast<size_t>(c.top_n);
  return LogitCandidates{
      .top_ids = std::span<const int32_t>(c.Host<int32_t>(c.top_ids()) + i * c.top_n, top_n),
      .top_values = std::span<const float>(c.Host<float>(c.top_values()) + i * c.top_n, top_n),
      .extra_values = std::span<const float>(c.Host<float>(c.extra_values()) + offsets[i],
                                             static_cast<size_t>(offsets[i + 1] - offsets[i]))};
}

std::span<const float> ModelRunner::LogitRow(int64_t i) const {
  const int64_t vocab = model_->info().vocab_size;
  return std::span<const float>(host_logits_ + i * vocab, static_cast<size_t>(vocab));
}

}  // namespace llmw
