// CUDA graphs of decode steps against the same steps run op by op: every tiny fixture checkpoint
// and random-weight SmolLM2-shaped models run the same steps twice on the GPU, with graphs and
// with RunnerOptions::enforce_eager, and their logits must be equal bit for bit.
//
// The steps: prefills of twelve sequences, then decode steps of 1, 3, 8, 11 and 12 sequences
// (buckets 1, 4, 8 and 16) in an order that replays each bucket at other context lengths and with
// other sequences, and a mixed step (a prefill chunk beside a decode) between them, which runs
// without a graph.
//
// What "the same steps" means: a graph runs its bucket's kernels, sized for the bucket, and a
// GEMM library may order a reduction differently at another batch width. So where the graph
// pads a decode step of n sequences to its bucket, the op-by-op runner gets the same n chunks
// plus filler sequences of its own up to the bucket: both run kernels of one size, and the n
// logit rows compared depend on nothing else. The filler rows are not compared.
//
// Also the backend's graphs alone: a recording runs nothing, a replay runs the recorded ops on
// the memory's contents of the moment, a failed recording leaves the backend working.
//
// Skips without a GPU; LLMW_REQUIRE_GPU=1 makes that a failure.
#include <algorithm>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kernels/backend_factory.h"
#include "kernels/status_macros.h"
#include "models/model_runner.h"
#include "models/step_tables.h"
#include "tests/gpu/model_cases.h"

namespace llmw {
namespace {

constexpr int kSequences = 12;
constexpr int64_t kMaxSequences = 16;
constexpr int kTokensPerSequence = 64;

std::vector<ModelCase> Cases() { return ModelCases({DType::kBF16, DType::kQ8_0, DType::kQ4_K}); }

absl::StatusOr<std::unique_ptr<ModelRunner>> Load(const ModelCase& c, bool enforce_eager) {
  RunnerOptions options;
  options.backend.device = Device::kCuda;
  options.max_batch_tokens = 128;
  options.max_sequences = kMaxSequences;
  options.kv.block_size = 8;
  options.kv.bytes = int64_t{64} << 20;
  options.enforce_eager = enforce_eager;
  return LoadModelCase(c, options);
}

// A step of `sequences`: with `prefill` 0 each decodes one token; with -1 each takes its prompt
// (2 + 3·s tokens for sequence s); with k > 0 the first takes k tokens and the others decode.
struct Step {
  std::vector<int> sequences;
  int prefill = 0;
};

std::vector<Step> Schedule() {
  std::vector<Step> steps;
  // Prompts of 2 + 3·s tokens, four sequences a step.
  for (int first = 0; first < kSequences; first += 4) {
    steps.push_back({{first, first + 1, first + 2, first + 3}, -1});
  }
  const std::vector<int> all8 = {0, 1, 2, 3, 4, 5, 6, 7};
  const std::vector<int> all11 = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const std::vector<int> all12 = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  for (const std::vector<int>& decode : std::vector<std::vector<int>>{
           {0}, {0, 1, 2}, all8, {3, 4, 5}, {7}, all8, all11, {1, 2, 6}}) {
    steps.push_back({decode});
  }
  steps.push_back({{11, 9}, 3});  // sequence 11 takes 3 tokens, 9 one: a mixed step
  for (const std::vector<int>& decode :
       std::vector<std::vector<int>>{all12, {2, 4, 6, 7, 0}, {5}, {0, 1, 2}, all12, {10, 3, 8}}) {
    steps.push_back({decode});
  }
  return steps;
}

// One runner's sequences (the shared token streams at their own positions) and fillers.
class Driver {
 public:
  Driver(ModelRunner& runner, const std::vector<std::vector<int32_t>>& tokens)
      : runner_(runner), tokens_(tokens), tables_(tokens.size()), positions_(tokens.size(), 0) {}
  ~Driver() {
    for (BlockTable& t : tables_) runner_.kv_cache().Release(t);
  }

  // Runs `step`, with `fillers` filler sequences after its chunks; returns the logit rows of the
  // step's own chunks.
  absl::StatusOr<std::vector<std::vector<float>>> Run(const Step& step, int fillers) {
    ForwardBatch batch;
    const auto add = [&](int s, int64_t n, ChunkLogits logits) -> absl::Status {
      RETURN_IF_ERROR(runner_.kv_cache().Reserve(tables_[s], positions_[s] + n));
      batch.chunks.push_back({std::span<const int32_t>(tokens_[s]).subspan(positions_[s], n),
                              positions_[s], &tables_[s], logits});
      positions_[s] += n;
      return absl::OkStatus();
    };
    for (size_t i = 0; i < step.sequences.size(); ++i) {
      const int s = step.sequences[i];
      const int64_t n = step.prefill < 0 ? 2 + 3 * s : i == 0 ? std::max(step.prefill, 1) : 1;
      RETURN_IF_ERROR(add(s, n, ChunkLogits::kLast));
    }
    for (int f = 0; f < fillers; ++f) RETURN_IF_ERROR(add(kSequences + f, 1, ChunkLogits::kLast));
    RETURN_IF_ERROR(runner_.Forward(batch));
    const int64_t rows = batch.num_logit_rows();
    if (runner_.num_logit_rows() != rows) {
      return absl::InternalError(absl::StrCat(runner_.num_logit_rows(), " logit rows, not ", rows));
    }
    std::vector<std::vector<float>> out;
    for (size_t r = 0; r < step.sequences.size(); ++r) {
      const std::span<const float> row = runner_.LogitRow(static_cast<int64_t>(r));
      out.emplace_back(row.begin(), row.end());
    }
    return out;
  }

 private:
  ModelRunner& runner_;
  const std::vector<std::vector<int32_t>>& tokens_;
  std::vector<BlockTable> tables_;
  std::vector<int64_t> positions_;
};

class CudaGraphTest : public ::testing::TestWithParam<ModelCase> {};

TEST_P(CudaGraphTest, ReplayedDecodeStepsEqualTheEagerSteps) {
  const ModelCase& c = GetParam();
  absl::StatusOr<std::unique_ptr<ModelRunner>> graphs = Load(c, /*enforce_eager=*/false);
  if (!graphs.ok() && absl::IsUnavailable(graphs.status()) && !GpuRequired()) {
    GTEST_SKIP() << graphs.status();
  }
  ASSERT_TRUE(graphs.ok()) << graphs.status();
  absl::StatusOr<std::unique_ptr<ModelRunner>> eager = Load(c, /*enforce_eager=*/true);
  ASSERT_TRUE(eager.ok()) << eager.status();
  ASSERT_GE((*graphs)->kv_cache().padding_block(), 0);
  ASSERT_EQ((*eager)->kv_cache().padding_block(), -1);

  // Every sequence's tokens (the fillers' after the sequences'), fixed in advance: both runners
  // read the same ones whatever their logits.
  const int64_t vocab = (*graphs)->info().vocab_size;
  std::vector<std::vector<int32_t>> tokens(kSequences + kMaxSequences);
  for (size_t s = 0; s < tokens.size(); ++s) {
    for (int p = 0; p < kTokensPerSequence; ++p) {
      tokens[s].push_back(static_cast<int32_t>((s * 131 + p * 37 + 7) % vocab));
    }
  }
  Driver with_graphs(**graphs, tokens), op_by_op(**eager, tokens);
  int compared = 0, step_index = 0;
  for (const Step& step : Schedule()) {
    const int n = static_cast<int>(step.sequences.size());
    const bool decode = step.prefill == 0;
    const int fillers = decode ? static_cast<int>(DecodeBucket(n, kMaxSequences)) - n : 0;
    absl::StatusOr<std::vector<std::vector<float>>> got = with_graphs.Run(step, 0);
    ASSERT_TRUE(got.ok()) << "step " << step_index << ": " << got.status();
    absl::StatusOr<std::vector<std::vector<float>>> want = op_by_op.Run(step, fillers);
    ASSERT_TRUE(want.ok()) << "step " << step_index << ": " << want.status();
    for (int r = 0; r < n; ++r) {
      const std::vector<float>& g = (*got)[r];
      const std::vector<float>& w = (*want)[r];
      ASSERT_EQ(g.size(), w.size());
      if (std::memcmp(g.data(), w.data(), g.size() * sizeof(float)) != 0) {
        size_t first = 0;
        while (std::memcmp(&g[first], &w[first], sizeof(float)) == 0) ++first;
        ADD_FAILURE() << "step " << step_index << " (" << n << " sequences), row " << r
                      << ": logit " << first << " is " << g[first] << " with graphs, " << w[first]
                      << " op by op";
      }
      ++compared;
    }
    ++step_index;
  }
  // Buckets 1, 4, 8 and 16 were recorded, and none by the eager runner.
  EXPECT_EQ((*graphs)->num_decode_graphs(), 4);
  EXPECT_EQ((*eager)->num_decode_graphs(), 0);
  std::cout << c.name << ": " << compared << " logit rows compared over " << step_index
            << " steps\n";
}

// The backend's own graphs: a recording runs nothing; each replay runs the recorded ops on what
// the memory holds then; a recording with a failed op fails and leaves the backend working.
TEST(CudaBackendGraphTest, ReplaysRunTheRecordedOpsOnTheMemoryOfTheMoment) {
  absl::StatusOr<std::unique_ptr<Backend>> backend = CreateBackend({.device = Device::kCuda});
  if (!backend.ok() && absl::IsUnavailable(backend.status()) && !GpuRequired()) {
    GTEST_SKIP() << backend.status();
  }
  ASSERT_TRUE(backend.ok()) << backend.status();
  Backend& b = **backend;
  ASSERT_TRUE(b.CapturesGraphs());
  constexpr int64_t kRows = 3, kCols = 1000, kBytes = kRows * kCols * 4;
  absl::StatusOr<Buffer> x = b.Allocate(kBytes), y = b.Allocate(kBytes), out = b.Allocate(kBytes);
  absl::StatusOr<Buffer> host = b.Allocate(3 * kBytes, MemoryKind::kHost);
  ASSERT_TRUE(x.ok() && y.ok() && out.ok() && host.ok());
  float* hx = static_cast<float*>(host->data());
  float* hy = hx + kRows * kCols;
  float* hout = hy + kRows * kCols;
  const Tensor tx(DType::kF32, {kRows, kCols}, x->data(), Device::kCuda);
  const Tensor ty(DType::kF32, {kRows, kCols}, y->data(), Device::kCuda);
  const Tensor tout(DType::kF32, {kRows, kCols}, out->data(), Device::kCuda);
  for (int64_t i = 0; i < kRows * kCols; ++i) {
    hx[i] = 0.25f * static_cast<float>(i % 97) - 3.0f;
    hy[i] = 1.0f / static_cast<float>(1 + i % 13);
    hout[i] = -1.0f;
  }
  b.Upload(x->data(), hx, kBytes);
  b.Upload(y->data(), hy, kBytes);
  // Once op by op first, as the runner does: the kernels are loaded before any recording.
  b.Add(tout, tx, ty);
  b.Scale(tout, tout, 0.5f);
  b.Upload(out->data(), hout, kBytes);
  ASSERT_TRUE(b.Synchronize().ok());

  ASSERT_TRUE(b.BeginCapture().ok());
  b.Add(tout, tx, ty);
  b.Scale(tout, tout, 0.5f);
  absl::StatusOr<int> graph = b.EndCapture();
  ASSERT_TRUE(graph.ok()) << graph.status();
  b.Download(hout, out->data(), kBytes);
  ASSERT_TRUE(b.Synchronize().ok());
  EXPECT_EQ(hout[0], -1.0f) << "a recording ran its ops";

  for (int round = 0; round < 2; ++round) {
    if (round == 1) {  // new inputs at the same addresses
      for (int64_t i = 0; i < kRows * kCols; ++i) hx[i] = static_cast<float>(i % 31);
      b.Upload(x->data(), hx, kBytes);
    }
    b.Replay(*graph);
    b.Download(hout, out->data(), kBytes);
    ASSERT_TRUE(b.Synchronize().ok());
    for (int64_t i = 0; i < kRows * kCols; ++i) {
      ASSERT_EQ(hout[i], (hx[i] + hy[i]) * 0.5f) << "round " << round << ", element " << i;
    }
  }

  // An op that fails its checks fails the recording, and only the recording.
  const Tensor narrow(DType::kF32, {kRows, kCols - 1}, out->data(), Device::kCuda);
  ASSERT_TRUE(b.BeginCapture().ok());
  b.Add(narrow, tx, ty);
  absl::StatusOr<int> failed = b.EndCapture();
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument) << failed.status();
  b.Replay(*graph);
  EXPECT_TRUE(b.Synchronize().ok());
  EXPECT_EQ(b.EndCapture().status().code(), absl::StatusCode::kFailedPrecondition);
  b.Replay(*graph + 7);
  EXPECT_FALSE(b.Synchronize().ok());
}

INSTANTIATE_TEST_SUITE_P(Models, CudaGraphTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<ModelCase>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace llmw
