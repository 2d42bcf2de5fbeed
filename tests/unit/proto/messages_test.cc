// Checks that the generated wire messages carry every field through serialization and keep their
// oneof and optional semantics.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>

#include "llmworker/v1/scheduler.pb.h"
#include "llmworker/v1/worker.pb.h"

namespace llmw {
namespace {

namespace v1 = ::llmworker::v1;
using ::google::protobuf::util::MessageDifferencer;

template <typename M>
M RoundTrip(const M& message) {
  std::string wire;
  EXPECT_TRUE(message.SerializeToString(&wire));
  M parsed;
  EXPECT_TRUE(parsed.ParseFromString(wire));
  return parsed;
}

v1::GenerateRequest FullRequest() {
  v1::GenerateRequest r;
  r.set_request_id("req-1");
  r.set_model("smollm2-135m");
  v1::ChatMessage* m = r.mutable_chat()->add_messages();
  m->set_role("system");
  m->set_content("Be brief.");
  m = r.mutable_chat()->add_messages();
  m->set_role("user");
  m->set_content("Hi! \xc3\xa9");
  r.set_temperature(0.7f);
  r.set_top_k(40);
  r.set_top_p(0.9f);
  r.set_min_p(0.05f);
  r.set_typical_p(0.95f);
  r.set_repetition_penalty(1.1f);
  r.set_presence_penalty(0.5f);
  r.set_frequency_penalty(-0.5f);
  (*r.mutable_logit_bias())[42] = -100.0f;
  (*r.mutable_logit_bias())[7] = 2.5f;
  r.set_seed(0xFFFF'FFFF'FFFF'FFFFull);
  r.set_max_tokens(64);
  r.set_min_tokens(4);
  r.set_ignore_eos(true);
  r.add_stop_token_ids(2);
  r.add_stop_token_ids(49152 - 1);
  r.add_stop("\n\n");
  r.add_stop("User:");
  r.set_logprobs(5);
  return r;
}

TEST(GenerateRequestTest, EveryFieldSurvivesSerialization) {
  const v1::GenerateRequest sent = FullRequest();
  const v1::GenerateRequest got = RoundTrip(sent);
  EXPECT_TRUE(MessageDifferencer::Equals(sent, got)) << got.DebugString();
  EXPECT_EQ(got.input_case(), v1::GenerateRequest::kChat);
  ASSERT_EQ(got.chat().messages_size(), 2);
  EXPECT_EQ(got.chat().messages(1).content(), "Hi! \xc3\xa9");
  EXPECT_EQ(got.seed(), 0xFFFF'FFFF'FFFF'FFFFull);
  EXPECT_EQ(got.logit_bias().at(42), -100.0f);
  EXPECT_EQ(got.stop_size(), 2);
}

TEST(GenerateRequestTest, UnsetOptionalFieldsAreDistinctFromZero) {
  v1::GenerateRequest r;
  r.set_prompt("Once upon a time");
  r.set_temperature(0.0f);  // greedy: must not read as "server default"
  const v1::GenerateRequest got = RoundTrip(r);
  EXPECT_TRUE(got.has_temperature());
  EXPECT_EQ(got.temperature(), 0.0f);
  EXPECT_FALSE(got.has_top_p());
  EXPECT_FALSE(got.has_max_tokens());
  EXPECT_FALSE(got.has_seed());
  EXPECT_FALSE(got.has_logprobs());
  EXPECT_FALSE(got.ignore_eos());
}

TEST(GenerateRequestTest, InputIsOneOf) {
  v1::GenerateRequest r;
  EXPECT_EQ(r.input_case(), v1::GenerateRequest::INPUT_NOT_SET);
  r.set_prompt("text");
  EXPECT_EQ(RoundTrip(r).input_case(), v1::GenerateRequest::kPrompt);
  r.mutable_token_ids()->add_ids(1);
  r.mutable_token_ids()->add_ids(2);
  EXPECT_FALSE(r.has_prompt());  // setting one member clears the other
  const v1::GenerateRequest got = RoundTrip(r);
  EXPECT_EQ(got.input_case(), v1::GenerateRequest::kTokenIds);
  EXPECT_EQ(got.token_ids().ids_size(), 2);
  r.mutable_chat();
  EXPECT_EQ(RoundTrip(r).input_case(), v1::GenerateRequest::kChat);
}

TEST(GenerateResponseTest, EventsKeepTheirCase) {
  v1::GenerateResponse started;
  started.mutable_started()->set_request_id("req-1");
  started.mutable_started()->set_prompt_tokens(12);
  started.mutable_started()->set_cached_prompt_tokens(8);
  EXPECT_EQ(RoundTrip(started).event_case(), v1::GenerateResponse::kStarted);

  v1::GenerateResponse token;
  token.mutable_token()->set_id(9);
  token.mutable_token()->set_text("Hello");
  v1::Logprobs* lp = token.mutable_token()->mutable_logprobs();
  lp->mutable_chosen()->set_id(9);
  lp->mutable_chosen()->set_text("Hello");
  lp->mutable_chosen()->set_logprob(-0.25f);
  lp->add_top()->set_id(10);
  const v1::GenerateResponse got_token = RoundTrip(token);
  EXPECT_EQ(got_token.event_case(), v1::GenerateResponse::kToken);
  EXPECT_TRUE(got_token.token().has_logprobs());
  EXPECT_TRUE(MessageDifferencer::Equals(token, got_token));

  v1::GenerateResponse finished;
  v1::Finished* f = finished.mutable_finished();
  f->set_reason(v1::FINISH_REASON_LENGTH);
  f->set_detail("max_tokens");
  f->mutable_usage()->set_prompt_tokens(12);
  f->mutable_usage()->set_completion_tokens(64);
  f->mutable_timings()->set_queue_seconds(0.001);
  f->mutable_timings()->set_time_to_first_token_seconds(0.02);
  f->mutable_timings()->set_total_seconds(1.5);
  const v1::GenerateResponse got_finished = RoundTrip(finished);
  EXPECT_EQ(got_finished.event_case(), v1::GenerateResponse::kFinished);
  EXPECT_EQ(got_finished.finished().reason(), v1::FINISH_REASON_LENGTH);
  EXPECT_DOUBLE_EQ(got_finished.finished().timings().total_seconds(), 1.5);
}

TEST(SchedulerMessagesTest, RegisterAndHeartbeatSurviveSerialization) {
  v1::RegisterRequest reg;
  reg.set_worker_id("worker-0");
  reg.set_advertised_endpoint("10.0.0.7:50051");
  reg.set_version("0.1.0");
  (*reg.mutable_labels())["gpu"] = "h100";
  v1::ModelCapacity* cap = reg.add_models();
  cap->set_name("smollm2-135m");
  cap->set_max_context(8192);
  cap->set_kv_blocks_total(4096);
  cap->set_kv_block_size(16);
  cap->set_max_running(64);
  cap->set_max_waiting(256);
  EXPECT_TRUE(MessageDifferencer::Equals(reg, RoundTrip(reg)));

  v1::HeartbeatRequest hb;
  hb.set_lease_id("lease-1");
  hb.set_sequence_number(3);
  hb.set_state(v1::WORKER_STATE_SERVING);
  v1::LoadReport* load = hb.add_models();
  load->set_model("smollm2-135m");
  load->set_running(3);
  load->set_waiting(1);
  load->set_kv_blocks_used(100);
  load->set_kv_blocks_total(4096);
  load->set_prefix_cache_hit_tokens(50);
  load->set_prefix_cache_query_tokens(200);
  load->set_generated_tokens(12345);
  EXPECT_TRUE(MessageDifferencer::Equals(hb, RoundTrip(hb)));
}

TEST(EnumsTest, ZeroValuesAreUnspecified) {
  EXPECT_EQ(v1::FinishReason_Name(v1::FinishReason{}), "FINISH_REASON_UNSPECIFIED");
  EXPECT_EQ(v1::WorkerState_Name(v1::WorkerState{}), "WORKER_STATE_UNSPECIFIED");
  EXPECT_EQ(v1::HeartbeatAction_Name(v1::HeartbeatAction{}), "HEARTBEAT_ACTION_UNSPECIFIED");
  // A value from a newer peer parses and keeps its number (proto3 enums are open).
  v1::HeartbeatResponse future;
  future.set_action(static_cast<v1::HeartbeatAction>(99));
  EXPECT_EQ(static_cast<int>(RoundTrip(future).action()), 99);
}

}  // namespace
}  // namespace llmw
