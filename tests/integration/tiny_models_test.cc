// Tiny random checkpoints (qwen2, phi2, phi3) of architectures without a real model in a package,
// against llama.cpp on the same file: logits at every position of 3 token
// sequences and a greedy continuation. Fixtures and the script that makes
// them: tests/fixtures/tiny/.
#include <cmath>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"
#include "kernels/cpu/thread_pool.h"
#include "models/registry.h"
#include "nlohmann/json.hpp"
#include "worker/engine/sampler.h"
#include "worker/engine/sequence_runner.h"

namespace llmw {
namespace {

// F32 weights: no activation rounding on either side. What remains is
// llama.cpp's f16 KV cache (keys and values rounded to 11 bits) and summation
// order; on these logits (|logit| up to 17) that measured 0.004-0.018.
constexpr double kMaxLogitDiff = 0.05;
constexpr double kNearTie = 2e-2;

std::string FixturePath(const std::string& name) {
  const char* source_dir = std::getenv("LLMW_SOURCE_DIR");
  return std::string(source_dir ? source_dir : ".") + "/tests/fixtures/tiny/" + name;
}

void CheckAgainstLlamaCpp(const std::string& model_file, const std::string& reference_file,
                          const std::string& architecture) {
  cpu::ThreadPool pool(2);
  // A batch budget under the longest sequence makes the prefill run in chunks.
  auto model = LoadModel(FixturePath(model_file), LoadOptions{&pool, 8});
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->info().architecture, architecture);
  std::ifstream in(FixturePath(reference_file));
  ASSERT_TRUE(in.good()) << reference_file;
  const nlohmann::json doc = nlohmann::json::parse(in);
  const int64_t vocab = (*model)->info().vocab_size;
  int cases = 0;
  for (const auto& c : doc["cases"]) {
    const std::vector<int32_t> ids = c["ids"];
    const std::vector<std::vector<double>> expected = c["logits"];
    auto runner = SequenceRunner::Create(**model, ids.size() + c["greedy"].size());
    ASSERT_TRUE(runner.ok()) << runner.status();
    auto logits = (*runner)->Append(ids, /*all_logits=*/true);
    ASSERT_TRUE(logits.ok()) << logits.status();
    double max_diff = 0;
    for (size_t pos = 0; pos < ids.size(); ++pos) {
      for (int64_t v = 0; v < vocab; ++v) {
        max_diff = std::max(max_diff, std::abs((*logits)[pos * vocab + v] - expected[pos][v]));
      }
    }
    EXPECT_LE(max_diff, kMaxLogitDiff) << "case " << cases;
    std::cout << architecture << " case " << cases << ": max |logit diff| over every position "
              << max_diff << "\n";

    const std::vector<int32_t> greedy = c["greedy"];
    const std::vector<double> margins = c["greedy_margins"];
    std::span<const float> last = logits->subspan((ids.size() - 1) * vocab, vocab);
    for (size_t step = 0; step < greedy.size(); ++step) {
      const int32_t token = ArgMax(last);
      if (token != greedy[step]) {
        EXPECT_LT(margins[step], kNearTie) << "step " << step;
        break;
      }
      const int32_t next[] = {token};
      auto step_logits = (*runner)->Append(next);
      ASSERT_TRUE(step_logits.ok());
      last = *step_logits;
    }
    ++cases;
  }
  EXPECT_EQ(cases, 3);
}

TEST(TinyModelsTest, Qwen2MatchesLlamaCpp) {
  CheckAgainstLlamaCpp("qwen2-tiny-f32.gguf", "qwen2-tiny-reference.json", "qwen2");
}

TEST(TinyModelsTest, Phi3MatchesLlamaCpp) {
  CheckAgainstLlamaCpp("phi3-tiny-f32.gguf", "phi3-tiny-reference.json", "phi3");
}

TEST(TinyModelsTest, Phi2MatchesLlamaCpp) {
  CheckAgainstLlamaCpp("phi2-tiny-f32.gguf", "phi2-tiny-reference.json", "phi2");
}

}  // namespace
}  // namespace llmw
