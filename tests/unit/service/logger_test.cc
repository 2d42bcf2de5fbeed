// Log lines in both formats, with JSON escaping.
#include "worker/service/logger.h"

#include <cmath>

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

// A client's text (here a request id with a newline, as a client could send one before ids were
// checked) must never start a line of its own or break the line's format.
TEST(LoggerTest, TextValuesAreQuotedAndEscapedSoALineStaysOneLine) {
  Logger log(LogFormat::kText);
  EXPECT_EQ(log.Format("info", "request finished",
                       {{"request_id", "x\nllm-worker: forged"}, {"detail", "two words"}}),
            "llm-worker: request finished request_id=\"x\\nllm-worker: forged\" "
            "detail=\"two words\"");
  EXPECT_EQ(log.Format("info", "e", {{"v", "a\"b\\c=d"}, {"empty", ""}}),
            "llm-worker: e v=\"a\\\"b\\\\c=d\" empty=\"\"");
  EXPECT_EQ(log.Format("info", "e", {{"bytes", "\x01\x7f\xff\xc2\x85 \xc3\xa9"}}),
            "llm-worker: e bytes=\"\\x01\\x7f\\xff\\xc2\\x85 \xc3\xa9\"");
  EXPECT_EQ(log.Format("info", "event\r\nwith breaks", {}), "llm-worker: event\\r\\nwith breaks");
}

TEST(LoggerTest, JsonLineStaysValidJsonForAnyBytes) {
  Logger log(LogFormat::kJson);
  const std::string line = log.Format(
      "info", "e\xff", {{"id", "\xc3(\xed\xa0\x80"}, {"nan", std::nan("")}, {"ok", 1.5}});
  const nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["event"], "e\uFFFD");
  EXPECT_EQ(parsed["id"], "\uFFFD(\uFFFD\uFFFD\uFFFD");
  EXPECT_TRUE(parsed["nan"].is_null());
  EXPECT_EQ(parsed["ok"], 1.5);
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace llmw
