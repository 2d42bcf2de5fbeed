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

// The tiny Qwen2 fixture, served, with this generation_config.json.
ServedModel TinyModel(const std::string& generation_config) {
  const char* source = std::getenv("LLMW_SOURCE_DIR");
  const fs::path dir = fs::temp_directory_path() / ("llmw-convert-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(fs::path(source ? source : ".") / "tests/fixtures/hf_tiny/qwen2", dir);
  std::ofstream(dir / "generation_config.json") << generation_config;
  auto runner = ModelRunner::Load(
      dir.string(),
      RunnerOptions{
          .backend = {.threads = 1}, .max_batch_tokens = 8, .max_sequences = 1, .kv = {}});
  fs::remove_all(dir);
  EXPECT_TRUE(runner.ok()) << runner.status();
  ServedModel served;
  served.name = "tiny";
  if (runner.ok()) served.runner = std::move(*runner);
  served.grammars = std::make_shared<structured::GrammarCache>();
  return served;
}

TEST(ProtoConvertTest, UnsetSamplingFieldsTakeTheModelsDefaults) {
  ServedModel served =
      TinyModel(R"({"do_sample": true, "temperature": 0.7, "top_p": 0.8, "top_k": 20})");
  ASSERT_NE(served.runner, nullptr);

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

TEST(ProtoConvertTest, ResponseFormatsCompileOnceAndErrorsNameTheFieldAndPosition) {
  ServedModel served = TinyModel("{}");
  ASSERT_NE(served.runner, nullptr);
  llmworker::v1::GenerateRequest request;
  request.set_prompt("Hello");
  EXPECT_EQ(ToEngineRequest(request, served, "id")->grammar, nullptr);

  request.mutable_response_format()->set_grammar("root ::= \"yes\" | \"no\"");
  auto a = ToEngineRequest(request, served, "a");
  auto b = ToEngineRequest(request, served, "b");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_NE(a->grammar, nullptr);
  EXPECT_EQ(a->grammar, b->grammar);  // one compiled grammar, from the cache
  EXPECT_EQ(served.grammars->stats().misses, 1u);
  EXPECT_EQ(served.grammars->stats().hits, 1u);

  request.mutable_response_format()->set_grammar("root ::= \"a\"\nitem ::= [z-a]");
  auto bad = ToEngineRequest(request, served, "c");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("response_format.grammar: "), std::string::npos)
      << bad.status();
  EXPECT_NE(bad.status().message().find("at 2:11"), std::string::npos) << bad.status();

  request.mutable_response_format()->set_json_schema(R"({"type": "object",)");
  bad = ToEngineRequest(request, served, "d");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("response_format.json_schema"), std::string::npos)
      << bad.status();

  request.mutable_response_format()->Clear();
  bad = ToEngineRequest(request, served, "e");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);

  request.mutable_response_format()->mutable_json_object();
  auto object = ToEngineRequest(request, served, "f");
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_NE(object->grammar, nullptr);
}

}  // namespace
}  // namespace llmw
