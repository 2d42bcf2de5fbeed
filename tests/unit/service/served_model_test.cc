// --model specs and the errors of loading a model set.
#include "worker/service/served_model.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace llmw {
namespace {

using ::testing::HasSubstr;

TEST(ModelSpecTest, NameEqualsPathOrBarePath) {
  auto named = ParseModelSpec("small=/models/a.gguf");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->name, "small");
  EXPECT_EQ(named->path, "/models/a.gguf");
  auto bare = ParseModelSpec("/models/SmolLM2.Q4_1.gguf");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->name, "SmolLM2.Q4_1");
  auto dir = ParseModelSpec("/models/Qwen2.5-0.5B-Instruct/");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->name, "Qwen2.5-0.5B-Instruct");
  EXPECT_EQ(dir->path, "/models/Qwen2.5-0.5B-Instruct/");
  EXPECT_FALSE(ParseModelSpec("=x").ok());
  EXPECT_FALSE(ParseModelSpec("name=").ok());
}

TEST(ModelSetTest, FailedLoadNamesTheModel) {
  auto set =
      ModelSet::Load({{"broken", "/nonexistent/model.gguf"}}, RunnerOptions{}, EngineOptions{});
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("model 'broken'"));
  EXPECT_THAT(set.status().message(), HasSubstr("/nonexistent/model.gguf"));
  EXPECT_THAT(ModelSet::Load({}, RunnerOptions{}, EngineOptions{}).status().message(),
              HasSubstr("no model to serve"));
}

}  // namespace
}  // namespace llmw
