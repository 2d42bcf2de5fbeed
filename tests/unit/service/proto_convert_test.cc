// GenerateRequest → engine request: unset sampling fields take the model's
// generation_config.json defaults, set ones win.
#include "worker/service/proto_convert.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "models/registry.h"

namespace llmw {
namespace {

namespace fs = std::filesystem;

TEST(ProtoConvertTest, UnsetSamplingFieldsTakeTheModelsDefaults) {
  const char* source = std::getenv("LLMW_SOURCE_DIR");
  const fs::path dir = fs::temp_directory_path() / ("llmw-convert-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(fs::path(source ? source : ".") / "tests/fixtures/hf_tiny/qwen2", dir);
  std::ofstream(dir / "generation_config.json")
      << R"({"do_sample": true, "temperature": 0.7, "top_p": 0.8, "top_k": 20})";
  auto runner = ModelRunner::Load(
      dir.string(),
      RunnerOptions{
          .backend = {.threads = 1}, .max_batch_tokens = 8, .max_sequences = 1, .kv = {}});
  fs::remove_all(dir);
  ASSERT_TRUE(runner.ok()) << runner.status();
  ServedModel served;
  served.name = "tiny";
  served.runner = std::move(*runner);

  llmworker::v1::GenerateRequest request;
  request.set_prompt("Hello");
  request.set_top_p(0.5f);
  auto r = ToEngineRequest(request, served, "id");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FLOAT_EQ(r->sampling.temperature, 0.7f);  // from generation_config.json
  EXPECT_EQ(r->sampling.top_k, 20);
  EXPECT_FLOAT_EQ(r->sampling.top_p, 0.5f);  // the request's own
  EXPECT_FLOAT_EQ(r->sampling.min_p, 0.0f);  // neither: the engine default
}

}  // namespace
}  // namespace llmw
