// The runner's decode graphs, on the CPU: a backend that records ops the way a GPU captures a
// graph (the ops and their arguments, not their results; a replay runs them again on whatever the
// memory then holds) stands in for CUDA. A random tiny llama then runs the same steps with graphs
// and op by op (RunnerOptions::enforce_eager), and the logits must be equal bit for bit. The CPU
// matmul's rows do not depend on the other rows of the batch (matmul_invariance_test), so the
// padded and unpadded steps compute the same rows exactly.
//
// This shows that the runner pads, records once per bucket and replays through fixed tables, that
// nothing a forward pass records depends on host values that change between steps of a bucket,
// and that no upload, download, allocation or wait happens inside a recording.
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/backend_factory.h"
#include "kernels/status_macros.h"
#include "models/llama/random_llama.h"
#include "models/model_runner.h"
#include "models/step_tables.h"

namespace llmw {
namespace {

using ::testing::HasSubstr;

// A CPU backend whose ops, between BeginCapture and EndCapture, are recorded instead of run.
class RecordingBackend final : public Backend {
 public:
  using Op = std::function<void(Backend&)>;

  RecordingBackend(std::unique_ptr<Backend> cpu, bool fail_captures)
      : cpu_(std::move(cpu)), fail_captures_(fail_captures) {}

  int replays() const { return replays_; }
  int captures() const { return static_cast<int>(graphs_.size()); }

  Device device() const override { return cpu_->device(); }
  std::string Describe() const override { return "recording " + cpu_->Describe(); }
  int64_t MaxHeadDim() const override { return cpu_->MaxHeadDim(); }
  absl::StatusOr<Buffer> Allocate(int64_t bytes, MemoryKind kind) override {
    if (capturing_) return absl::FailedPreconditionError("Allocate inside a capture");
    return cpu_->Allocate(bytes, kind);
  }
  int64_t KvCacheBudget() const override { return cpu_->KvCacheBudget(); }
  void Upload(void* dst, const void* host_src, int64_t bytes) override {
    if (NotCapturing("Upload")) cpu_->Upload(dst, host_src, bytes);
  }
  void Download(void* host_dst, const void* src, int64_t bytes) override {
    if (NotCapturing("Download")) cpu_->Download(host_dst, src, bytes);
  }
  absl::Status Synchronize() override {
    NotCapturing("Synchronize");
    const absl::Status synced = cpu_->Synchronize();
    absl::Status failure = TakeFailure();
    return failure.ok() ? synced : failure;
  }
  absl::Status ReserveScratch(int64_t max_rows, int64_t max_width) override {
    return cpu_->ReserveScratch(max_rows, max_width);
  }
  absl::Status PlaceWeights(std::span<const WeightSlot> slots) override {
    return cpu_->PlaceWeights(slots);
  }
  int64_t WeightBytes() const override { return cpu_->WeightBytes(); }

  void Embed(const Tensor& out, const Tensor& table, const StepLayout& step, float scale) override {
    Queue([=](Backend& b) { b.Embed(out, table, step, scale); });
  }
  void RmsNorm(const Tensor& out, const Tensor& x, const Tensor& w, float eps,
               float w_offset) override {
    Queue([=](Backend& b) { b.RmsNorm(out, x, w, eps, w_offset); });
  }
  void LayerNorm(const Tensor& out, const Tensor& x, const Tensor& w, const Tensor& bias,
                 float eps) override {
    Queue([=](Backend& b) { b.LayerNorm(out, x, w, bias, eps); });
  }
  void Matmul(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias) override {
    Queue([=](Backend& b) { b.Matmul(y, x, w, bias); });
  }
  void MatmulShared(std::span<const MatmulOutput> outputs, const Tensor& x) override {
    const std::vector<MatmulOutput> copy(outputs.begin(), outputs.end());
    Queue([=](Backend& b) { b.MatmulShared(copy, x); });
  }
  void RopeAngles(const Tensor& cos, const Tensor& sin, const StepLayout& step,
                  const Tensor& inv_freq) override {
    Queue([=](Backend& b) { b.RopeAngles(cos, sin, step, inv_freq); });
  }
  void Rope(const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t head_dim,
            int64_t rot_dim, RopePairing pairing) override {
    Queue([=](Backend& b) { b.Rope(x, cos, sin, head_dim, rot_dim, pairing); });
  }
  void SiluMul(const Tensor& out, const Tensor& gate, const Tensor& up) override {
    Queue([=](Backend& b) { b.SiluMul(out, gate, up); });
  }
  void GeluTanh(const Tensor& out, const Tensor& x) override {
    Queue([=](Backend& b) { b.GeluTanh(out, x); });
  }
  void GeluTanhMul(const Tensor& out, const Tensor& gate, const Tensor& up) override {
    Queue([=](Backend& b) { b.GeluTanhMul(out, gate, up); });
  }
  void Add(const Tensor& out, const Tensor& a, const Tensor& b) override {
    Queue([=](Backend& be) { be.Add(out, a, b); });
  }
  void Scale(const Tensor& out, const Tensor& x, float scale) override {
    Queue([=](Backend& b) { b.Scale(out, x, scale); });
  }
  void WriteKv(const PagedKvLayer& kv, const Tensor& k, const Tensor& v,
               const StepLayout& step) override {
    Queue([=](Backend& b) { b.WriteKv(kv, k, v, step); });
  }
  void PagedAttention(const Tensor& out, const Tensor& q, const PagedKvLayer& kv,
                      const StepLayout& step, const AttentionParams& params) override {
    Queue([=](Backend& b) { b.PagedAttention(out, q, kv, step, params); });
  }
  void GatherRows(const Tensor& out, const Tensor& x, const StepLayout& step) override {
    Queue([=](Backend& b) { b.GatherRows(out, x, step); });
  }
  void AddRmsNorm(const Tensor& out, const Tensor& residual, const Tensor& x, const Tensor& w,
                  float eps, float w_offset) override {
    Queue([=](Backend& b) { b.AddRmsNorm(out, residual, x, w, eps, w_offset); });
  }
  void AddLayerNorm(const Tensor& out, const Tensor& residual, const Tensor& x, const Tensor& w,
                    const Tensor& bias, float eps) override {
    Queue([=](Backend& b) { b.AddLayerNorm(out, residual, x, w, bias, eps); });
  }
  void RopeWriteKv(const PagedKvLayer& kv, const Tensor& q, const Tensor& k, const Tensor& v,
                   const Tensor& cos, const Tensor& sin, const StepLayout& step, int64_t rot_dim,
                   RopePairing pairing) override {
    Queue([=](Backend& b) { b.RopeWriteKv(kv, q, k, v, cos, sin, step, rot_dim, pairing); });
  }
  void MatmulGated(const Tensor& out, const Tensor& x, const Tensor& w_gate, const Tensor& w_up,
                   GatedActivation act, const Tensor& up) override {
    Queue([=](Backend& b) { b.MatmulGated(out, x, w_gate, w_up, act, up); });
  }
  void TopCandidates(int32_t* top_ids, float* top_values, float* extra_values, const Tensor& logits,
                     int64_t top_n, const int32_t* extra_ids,
                     const int32_t* extra_offsets) override {
    Queue([=](Backend& b) {
      b.TopCandidates(top_ids, top_values, extra_values, logits, top_n, extra_ids, extra_offsets);
    });
  }

  void MaskLogits(const Tensor& logits, const uint32_t* allowed,
                  const int32_t* mask_offsets) override {
    Queue([=](Backend& b) { b.MaskLogits(logits, allowed, mask_offsets); });
  }

  bool CapturesGraphs() const override { return true; }
  absl::Status BeginCapture() override {
    if (capturing_) return absl::FailedPreconditionError("already capturing");
    capturing_ = true;
    recording_.clear();
    return absl::OkStatus();
  }
  absl::StatusOr<int> EndCapture() override {
    if (!capturing_) return absl::FailedPreconditionError("not capturing");
    capturing_ = false;
    if (fail_captures_) return absl::InternalError("this backend fails every capture");
    graphs_.push_back(std::move(recording_));
    return static_cast<int>(graphs_.size() - 1);
  }
  void Replay(int graph) override {
    if (capturing_ || graph < 0 || graph >= captures()) {
      Fail(absl::InvalidArgumentError("Replay of no graph, or inside a capture"));
      return;
    }
    ++replays_;
    for (const Op& op : graphs_[graph]) op(*cpu_);
  }

 private:
  void Free(void*) override {}  // buffers are the CPU backend's own

  void Queue(Op op) {
    if (capturing_) {
      recording_.push_back(std::move(op));
    } else {
      op(*cpu_);
    }
  }
  bool NotCapturing(const char* call) {
    if (capturing_) Fail(absl::FailedPreconditionError(std::string(call) + " inside a capture"));
    return !capturing_;
  }

  std::unique_ptr<Backend> cpu_;
  const bool fail_captures_;
  bool capturing_ = false;
  std::vector<Op> recording_;
  std::vector<std::vector<Op>> graphs_;
  int replays_ = 0;
};

constexpr int64_t kMaxSequences = 8;

RunnerOptions Options(bool enforce_eager) {
  RunnerOptions options;
  options.max_batch_tokens = 64;
  options.max_sequences = kMaxSequences;
  options.kv.block_size = 4;
  options.kv.bytes = 1 << 20;
  options.enforce_eager = enforce_eager;
  return options;
}

absl::StatusOr<std::unique_ptr<ModelRunner>> Runner(std::unique_ptr<Backend> backend,
                                                    bool enforce_eager) {
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model,
                   RandomLlama("tiny", DType::kQ8_0, /*seed=*/3, *backend));
  return ModelRunner::Create(std::move(backend), std::move(model), Options(enforce_eager));
}

absl::StatusOr<std::unique_ptr<ModelRunner>> CpuRunner(bool enforce_eager) {
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> cpu,
                   CreateBackend({.device = Device::kCpu, .threads = 2}));
  return Runner(std::move(cpu), enforce_eager);
}

// Sequences of fixed tokens on one runner, stepped as told.
class Sequences {
 public:
  Sequences(ModelRunner& runner, int n) : runner_(runner), tables_(n), positions_(n, 0) {
    for (int s = 0; s < n; ++s) {
      tokens_.emplace_back();
      for (int p = 0; p < 48; ++p) tokens_.back().push_back((s * 41 + p * 23 + 5) % 300);
    }
  }
  ~Sequences() {
    for (BlockTable& t : tables_) runner_.kv_cache().Release(t);
  }

  // One step: `lengths[i]` new tokens of sequence `ids[i]`; returns the logit rows.
  absl::StatusOr<std::vector<std::vector<float>>> Step(const std::vector<int>& ids,
                                                       const std::vector<int>& lengths) {
    ForwardBatch batch;
    for (size_t i = 0; i < ids.size(); ++i) {
      const int s = ids[i];
      const int64_t n = lengths[i];
      RETURN_IF_ERROR(runner_.kv_cache().Reserve(tables_[s], positions_[s] + n));
      batch.chunks.push_back({std::span<const int32_t>(tokens_[s]).subspan(positions_[s], n),
                              positions_[s], &tables_[s], ChunkLogits::kLast});
      positions_[s] += n;
    }
    RETURN_IF_ERROR(runner_.Forward(batch));
    std::vector<std::vector<float>> rows;
    for (int64_t r = 0; r < runner_.num_logit_rows(); ++r) {
      const std::span<const float> row = runner_.LogitRow(r);
      rows.emplace_back(row.begin(), row.end());
    }
    return rows;
  }
  absl::StatusOr<std::vector<std::vector<float>>> Decode(const std::vector<int>& ids) {
    return Step(ids, std::vector<int>(ids.size(), 1));
  }

 private:
  ModelRunner& runner_;
  std::vector<std::vector<int32_t>> tokens_;
  std::vector<BlockTable> tables_;
  std::vector<int64_t> positions_;
};

// Prefills of six sequences, decode steps of 1, 3, 6, 2 and 5 of them (buckets 1, 4, 8 and 2) at
// growing contexts, a bucket replayed with other sequences, and a mixed step among them. Returns
// every logit row in order.
absl::StatusOr<std::vector<std::vector<float>>> RunSchedule(ModelRunner& runner) {
  Sequences seqs(runner, 6);
  std::vector<std::vector<float>> all;
  const auto keep = [&](absl::StatusOr<std::vector<std::vector<float>>> rows) -> absl::Status {
    RETURN_IF_ERROR(rows.status());
    all.insert(all.end(), rows->begin(), rows->end());
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(keep(seqs.Step({0, 1, 2}, {3, 7, 5})));
  RETURN_IF_ERROR(keep(seqs.Step({3, 4, 5}, {2, 9, 4})));
  for (const std::vector<int>& ids : std::vector<std::vector<int>>{
           {0}, {0, 1, 2}, {0, 1, 2, 3, 4, 5}, {3, 4, 5}, {1}, {0, 1, 2, 3, 4, 5}, {4, 2}}) {
    RETURN_IF_ERROR(keep(seqs.Decode(ids)));
  }
  RETURN_IF_ERROR(keep(seqs.Step({5, 1}, {4, 1})));  // a prefill chunk beside a decode
  for (const std::vector<int>& ids : std::vector<std::vector<int>>{
           {1, 3, 5}, {0, 1, 2, 3, 4}, {2}, {5, 0}, {0, 1, 2, 3, 4, 5}, {2, 3, 4}}) {
    RETURN_IF_ERROR(keep(seqs.Decode(ids)));
  }
  return all;
}

void ExpectBitwiseEqual(const std::vector<std::vector<float>>& got,
                        const std::vector<std::vector<float>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t r = 0; r < want.size(); ++r) {
    ASSERT_EQ(got[r].size(), want[r].size());
    EXPECT_EQ(std::memcmp(got[r].data(), want[r].data(), want[r].size() * sizeof(float)), 0)
        << "row " << r;
  }
}

struct GraphRunner {
  RecordingBackend* backend = nullptr;
  std::unique_ptr<ModelRunner> runner;
};

GraphRunner MakeGraphRunner(bool fail_captures) {
  GraphRunner g;
  absl::StatusOr<std::unique_ptr<Backend>> cpu =
      CreateBackend({.device = Device::kCpu, .threads = 2});
  EXPECT_TRUE(cpu.ok()) << cpu.status();
  if (!cpu.ok()) return g;
  auto backend = std::make_unique<RecordingBackend>(std::move(*cpu), fail_captures);
  g.backend = backend.get();
  absl::StatusOr<std::unique_ptr<ModelRunner>> runner =
      Runner(std::move(backend), /*enforce_eager=*/false);
  EXPECT_TRUE(runner.ok()) << runner.status();
  if (runner.ok()) g.runner = std::move(*runner);
  return g;
}

// Runs the schedule on an eager runner and on `graphs`, and holds their logits to each other.
void ExpectLogitsOfEagerSteps(const GraphRunner& graphs) {
  ASSERT_NE(graphs.runner, nullptr);
  absl::StatusOr<std::unique_ptr<ModelRunner>> eager = CpuRunner(/*enforce_eager=*/true);
  ASSERT_TRUE(eager.ok()) << eager.status();
  absl::StatusOr<std::vector<std::vector<float>>> want = RunSchedule(**eager);
  ASSERT_TRUE(want.ok()) << want.status();
  absl::StatusOr<std::vector<std::vector<float>>> got = RunSchedule(*graphs.runner);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectBitwiseEqual(*got, *want);
  EXPECT_EQ((*eager)->num_decode_graphs(), 0);
}

TEST(DecodeGraphTest, ReplayedStepsEqualEagerStepsBitForBit) {
  GraphRunner graphs = MakeGraphRunner(/*fail_captures=*/false);
  ExpectLogitsOfEagerSteps(graphs);
  // Buckets 1, 2, 4 and 8, each recorded once; the other nine decode steps replayed.
  EXPECT_EQ(graphs.runner->num_decode_graphs(), 4);
  EXPECT_EQ(graphs.backend->captures(), 4);
  EXPECT_EQ(graphs.backend->replays(), 9);
}

TEST(DecodeGraphTest, AFailedCaptureRunsTheBucketOpByOp) {
  GraphRunner graphs = MakeGraphRunner(/*fail_captures=*/true);
  ExpectLogitsOfEagerSteps(graphs);
  EXPECT_EQ(graphs.runner->num_decode_graphs(), 0);
  EXPECT_EQ(graphs.backend->replays(), 0);
}

TEST(DecodeGraphTest, ThePaddingBlockIsReservedOnlyWithGraphs) {
  absl::StatusOr<std::unique_ptr<ModelRunner>> eager = CpuRunner(/*enforce_eager=*/true);
  absl::StatusOr<std::unique_ptr<ModelRunner>> cpu = CpuRunner(/*enforce_eager=*/false);
  ASSERT_TRUE(eager.ok() && cpu.ok());
  GraphRunner graphs = MakeGraphRunner(/*fail_captures=*/false);
  ASSERT_NE(graphs.runner, nullptr);
  // The CPU backend records no graphs: nothing is reserved for them.
  EXPECT_EQ((*cpu)->kv_cache().padding_block(), -1);
  EXPECT_EQ((*eager)->kv_cache().padding_block(), -1);
  const KvCache& kv = graphs.runner->kv_cache();
  EXPECT_EQ(kv.padding_block(), kv.allocator().num_blocks());
  EXPECT_EQ(kv.bytes(), (*eager)->kv_cache().bytes());
  EXPECT_EQ(kv.capacity_tokens() + kv.block_size(), (*eager)->kv_cache().capacity_tokens());
}

TEST(DecodeGraphTest, ABatchCannotUseThePaddingBlock) {
  GraphRunner graphs = MakeGraphRunner(/*fail_captures=*/false);
  ASSERT_NE(graphs.runner, nullptr);
  BlockTable table;
  table.mutable_blocks() = {graphs.runner->kv_cache().padding_block()};
  const std::vector<int32_t> token = {7};
  ForwardBatch batch;
  batch.chunks.push_back({token, 0, &table, ChunkLogits::kLast});
  const absl::Status s = graphs.runner->Forward(batch);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("is not in the KV cache"));
}

}  // namespace
}  // namespace llmw
