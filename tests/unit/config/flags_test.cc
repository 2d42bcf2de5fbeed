// Flag parsing: forms, types, repeats, errors and LLMW_* environment fallback.
#include "worker/config/flags.h"

#include <cstdlib>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace llmw::cli {
namespace {

using ::testing::HasSubstr;

const std::vector<FlagSpec> kSpecs = {
    {"model", "", false, true}, {"max-running", ""}, {"chat", "", true}, {"top-p", ""}};

TEST(FlagsTest, ValuesSwitchesAndRepeats) {
  auto flags = ParseFlags(kSpecs, {"--model", "a=x", "--model=b=y", "--max-running=8", "--chat"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->GetAll("model"), (std::vector<std::string>{"a=x", "b=y"}));
  EXPECT_EQ(*flags->GetInt("max-running", 1), 8);
  EXPECT_TRUE(flags->Has("chat"));
  EXPECT_DOUBLE_EQ(*flags->GetDouble("top-p", 0.5), 0.5);
}

TEST(FlagsTest, ErrorsNameTheFlag) {
  EXPECT_THAT(ParseFlags(kSpecs, {"--bogus", "1"}).status().message(), HasSubstr("--bogus"));
  EXPECT_THAT(ParseFlags(kSpecs, {"--max-running"}).status().message(), HasSubstr("needs a value"));
  EXPECT_THAT(ParseFlags(kSpecs, {"--chat=yes"}).status().message(), HasSubstr("takes no value"));
  EXPECT_THAT(ParseFlags(kSpecs, {"stray"}).status().message(), HasSubstr("unexpected argument"));
  auto flags = ParseFlags(kSpecs, {"--max-running", "ten"});
  ASSERT_TRUE(flags.ok());
  EXPECT_THAT(flags->GetInt("max-running", 1).status().message(), HasSubstr("expects an integer"));
}

TEST(FlagsTest, EnvironmentFillsWhatArgumentsLeaveOut) {
  setenv("LLMW_MAX_RUNNING", "32", 1);
  setenv("LLMW_MODEL", "a=x,b=y", 1);
  setenv("LLMW_TOP_P", "0.9", 1);
  auto from_env = ParseFlags(kSpecs, {"--top-p", "0.7"}, /*use_environment=*/true);
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(*from_env->GetInt("max-running", 1), 32);
  EXPECT_EQ(from_env->GetAll("model"), (std::vector<std::string>{"a=x", "b=y"}));
  EXPECT_DOUBLE_EQ(*from_env->GetDouble("top-p", 0), 0.7);  // the argument wins
  auto without = ParseFlags(kSpecs, {}, /*use_environment=*/false);
  EXPECT_FALSE(without->Has("max-running"));
  unsetenv("LLMW_MAX_RUNNING");
  unsetenv("LLMW_MODEL");
  unsetenv("LLMW_TOP_P");
}

}  // namespace
}  // namespace llmw::cli
