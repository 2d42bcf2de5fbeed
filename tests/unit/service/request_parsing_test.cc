// ParseRequest: valid bytes parse; bytes that do not get INVALID_ARGUMENT naming the field.
#include "worker/service/request_parsing.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmworker/v1/worker.pb.h"

namespace llmw {
namespace {

namespace pb = ::llmworker::v1;
using ::testing::HasSubstr;

std::string Replace(std::string bytes, const std::string& from, const std::string& to) {
  const size_t at = bytes.find(from);
  EXPECT_NE(at, std::string::npos);
  return bytes.replace(at, from.size(), to);
}

TEST(RequestParsingTest, ValidBytesParse) {
  pb::GenerateRequest sent;
  sent.set_request_id("id-1");
  sent.mutable_chat()->add_messages()->set_content("h\xc3\xa9llo");
  (*sent.mutable_logit_bias())[3] = 1.5f;
  *sent.add_stop() = "x";
  pb::GenerateRequest got;
  ASSERT_TRUE(ParseRequest(sent.SerializeAsString(), &got).ok());
  EXPECT_EQ(got.SerializeAsString(), sent.SerializeAsString());
}

TEST(RequestParsingTest, InvalidUtf8IsNamedByItsPath) {
  pb::GenerateRequest r;
  r.mutable_chat()->add_messages()->set_role("user");
  r.mutable_chat()->add_messages()->set_role("ROLE");
  pb::GenerateRequest got;
  const absl::Status status =
      ParseRequest(Replace(r.SerializeAsString(), "ROLE", "\xed\xa0\x80!"), &got);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("llmworker.v1.GenerateRequest"));
  EXPECT_THAT(status.message(), HasSubstr("chat.messages[1].role is not valid UTF-8"));
}

TEST(RequestParsingTest, TruncatedAndGarbageBytesAreRefused) {
  pb::TokenizeRequest r;
  r.set_prompt("a long enough prompt");
  const std::string bytes = r.SerializeAsString();
  pb::TokenizeRequest got;
  absl::Status status = ParseRequest(bytes.substr(0, bytes.size() - 3), &got);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("prompt is truncated"));
  status = ParseRequest(std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11), &got);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not a valid llmworker.v1.TokenizeRequest"));
}

TEST(RequestParsingTest, UnknownFieldsAreSkippedAsProtobufDoes) {
  pb::AbortRequest r;
  r.set_request_id("x");
  // Field 99, length-delimited, holding bytes that are not UTF-8: not ours to judge.
  const std::string bytes = r.SerializeAsString() + std::string("\x9a\x06\x02\xff\xfe", 5);
  pb::AbortRequest got;
  EXPECT_TRUE(ParseRequest(bytes, &got).ok());
  EXPECT_EQ(got.request_id(), "x");
}

}  // namespace
}  // namespace llmw
