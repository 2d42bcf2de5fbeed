// Log lines in both formats, with JSON escaping.
#include "worker/service/logger.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace llmw {
namespace {

using ::testing::MatchesRegex;

TEST(LoggerTest, TextLineHasEventAndFields) {
  Logger log(LogFormat::kText);
  EXPECT_EQ(log.Format("info", "request finished", {{"model", "m"}, {"tokens", int64_t{12}}}),
            "llm-worker: request finished model=m tokens=12");
  EXPECT_EQ(log.Format("error", "cannot listen", {}), "llm-worker: error: cannot listen");
}

TEST(LoggerTest, JsonLineParsesWithEscapedValues) {
  Logger log(LogFormat::kJson);
  const std::string line = log.Format(
      "info", "request \"x\"", {{"detail", "a\nb\\c\t\x01"}, {"ttft_s", 0.25}, {"n", int64_t{-3}}});
  const nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["level"], "info");
  EXPECT_EQ(parsed["event"], "request \"x\"");
  EXPECT_EQ(parsed["detail"], "a\nb\\c\t\x01");
  EXPECT_DOUBLE_EQ(parsed["ttft_s"].get<double>(), 0.25);
  EXPECT_EQ(parsed["n"], -3);
  EXPECT_THAT(parsed["time"].get<std::string>(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"));
}

}  // namespace
}  // namespace llmw
