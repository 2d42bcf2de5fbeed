// The Worker service in-process over a real gRPC channel, with three tiny committed models: every
// constraint worker.proto documents is enforced with its status code and a message naming the
// field, requests whose bytes do not parse get INVALID_ARGUMENT on every RPC, ids are unique per
// worker, special-token text in prompts is parsed as documented, and detokenizing a truncated
// character yields one U+FFFD.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "llmworker/v1/worker.grpc.pb.h"
#include "tests/test_models.h"
#include "worker/service/load_tracker.h"
#include "worker/service/worker_service.h"

namespace llmw {
namespace {

namespace pb = ::llmworker::v1;
using ::testing::HasSubstr;

constexpr int kContext = 256;  // both tiny models
constexpr int kVocab = 911;    // tiny llama

std::string Fixture(const std::string& name) {
  const char* source = std::getenv("LLMW_SOURCE_DIR");
  return (std::filesystem::path(source ? source : ".") / "tests/fixtures/hf_tiny" / name).string();
}

// A channel-level call of `method` with raw request bytes, so that tests can send bytes a
// typed stub never would.
grpc::Status RawUnary(grpc::Channel& channel, const std::string& method, const std::string& bytes,
                      std::string* response = nullptr) {
  grpc::GenericStub stub(channel.shared_from_this());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  grpc::Slice slice(bytes);
  const grpc::ByteBuffer request(&slice, 1);
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(&context, "/llmworker.v1.Worker/" + method, request, &cq);
  call->StartCall();
  grpc::ByteBuffer reply;
  grpc::Status status;
  call->Finish(&reply, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(cq.Next(&tag, &ok));
  if (response != nullptr && status.ok()) {
    std::vector<grpc::Slice> slices;
    EXPECT_TRUE(reply.Dump(&slices).ok());
    response->clear();
    for (const grpc::Slice& s : slices) {
      response->append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return status;
}

// The serialized form of `message` with the bytes of `placeholder` (which must occur once)
// replaced by `replacement` of the same length.
std::string WithBytes(const google::protobuf::Message& message, const std::string& placeholder,
                      const std::string& replacement) {
  std::string bytes = message.SerializeAsString();
  const size_t at = bytes.find(placeholder);
  EXPECT_NE(at, std::string::npos);
  EXPECT_EQ(placeholder.size(), replacement.size());
  bytes.replace(at, placeholder.size(), replacement);
  return bytes;
}

// A WorkerService serving `specs` in this process, on a loopback port.
struct InProcessWorker {
  static std::unique_ptr<InProcessWorker> Start(const std::vector<ModelSpec>& specs,
                                                const EngineOptions& options,
                                                int64_t kv_cache_bytes) {
    auto worker = std::make_unique<InProcessWorker>();
    RunnerOptions runner;
    runner.backend.threads = 1;
    runner.max_batch_tokens = options.max_batch_tokens;
    runner.max_sequences = options.max_running;
    runner.kv.bytes = kv_cache_bytes;
    auto models = ModelSet::Load(specs, runner, options);
    EXPECT_TRUE(models.ok()) << models.status();
    if (!models.ok()) return nullptr;
    worker->models = std::move(*models);
    worker->load = std::make_unique<LoadTracker>(*worker->models);
    worker->load->StartCounting();
    worker->service =
        std::make_unique<WorkerService>(*worker->models, *worker->load, nullptr, nullptr);
    worker->service->set_state(pb::WORKER_STATE_SERVING);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(worker->service.get());
    worker->server = builder.BuildAndStart();
    EXPECT_NE(worker->server, nullptr);
    if (worker->server == nullptr) return nullptr;
    worker->channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                          grpc::InsecureChannelCredentials());
    return worker;
  }
  ~InProcessWorker() {
    if (server != nullptr) server->Shutdown(std::chrono::system_clock::now());
  }

  std::unique_ptr<ModelSet> models;
  std::unique_ptr<LoadTracker> load;
  std::unique_ptr<WorkerService> service;
  std::unique_ptr<grpc::Server> server;
  std::shared_ptr<grpc::Channel> channel;
};

class WorkerServiceContractTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EngineOptions options;
    options.max_batch_tokens = 64;
    options.max_running = 4;
    options.max_waiting = 8;
    worker_ = InProcessWorker::Start({{"llama", Fixture("llama-Q8_0.gguf")},
                                      {"mistral", Fixture("mistral-Q8_0.gguf")},
                                      {"qwen2", Fixture("qwen2-Q8_0.gguf")}},
                                     options, /*kv_cache_bytes=*/4 << 20)
                  .release();
  }

  static void TearDownTestSuite() { delete worker_; }

  void SetUp() override {
    ASSERT_NE(worker_, nullptr);
    stub_ = pb::Worker::NewStub(worker_->channel);
  }

  struct Stream {
    grpc::Status status;
    std::vector<pb::GenerateResponse> events;
  };

  Stream Generate(const pb::GenerateRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto reader = stub_->Generate(&context, request);
    Stream stream;
    pb::GenerateResponse event;
    while (reader->Read(&event)) stream.events.push_back(event);
    stream.status = reader->Finish();
    return stream;
  }

  // Generate's status for `request`, which must be refused before any event.
  grpc::Status Refusal(const pb::GenerateRequest& request) {
    Stream stream = Generate(request);
    EXPECT_TRUE(stream.events.empty()) << "errors come before any event";
    return stream.status;
  }

  void ExpectInvalid(const pb::GenerateRequest& request, const std::string& field) {
    const grpc::Status status = Refusal(request);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << field << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(field));
  }

  void ExpectAccepted(const pb::GenerateRequest& request) {
    const Stream stream = Generate(request);
    EXPECT_TRUE(stream.status.ok()) << stream.status.error_message();
    ASSERT_FALSE(stream.events.empty());
    EXPECT_TRUE(stream.events.back().has_finished());
  }

  static pb::GenerateRequest Request() {
    pb::GenerateRequest request;
    request.set_prompt("Hello there");
    request.set_max_tokens(2);
    request.set_temperature(0);
    return request;
  }

  std::vector<int32_t> TokenIds(const pb::TokenizeRequest& request) {
    grpc::ClientContext context;
    pb::TokenizeResponse response;
    const grpc::Status status = stub_->Tokenize(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.ids().begin(), response.ids().end()};
  }

  static inline InProcessWorker* worker_ = nullptr;
  std::unique_ptr<pb::Worker::Stub> stub_;
};

TEST_F(WorkerServiceContractTest, RequestIdIsAtMost128BytesOfPrintableAscii) {
  pb::GenerateRequest r = Request();
  r.set_request_id(std::string(128, 'a'));
  ExpectAccepted(r);
  r.set_request_id(std::string(129, 'a'));
  ExpectInvalid(r, "request_id must be at most 128 bytes");
  for (const std::string& id : std::vector<std::string>{"forged\nline", std::string("nul\0", 4),
                                                        "tab\t", "del\x7f", "caf\xc3\xa9"}) {
    r.set_request_id(id);
    ExpectInvalid(r, "request_id must be printable ASCII");
  }
  r.set_request_id("printable ASCII: ~!@#$%^&*()_+{}|:\"<>?");
  ExpectAccepted(r);
}

TEST_F(WorkerServiceContractTest, AbortChecksTheRequestIdToo) {
  grpc::ClientContext context;
  pb::AbortRequest request;
  request.set_request_id("two\nlines");
  pb::AbortResponse response;
  const grpc::Status status = stub_->Abort(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("request_id"));
}

TEST_F(WorkerServiceContractTest, ModelMustBeServed) {
  pb::GenerateRequest r = Request();
  r.set_model("nope");
  const grpc::Status status = Refusal(r);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("llama, mistral, qwen2"));
}

TEST_F(WorkerServiceContractTest, ExactlyOneNonEmptyInput) {
  pb::GenerateRequest r = Request();
  r.clear_prompt();
  ExpectInvalid(r, "no input");
  r.set_prompt("");
  ExpectInvalid(r, "prompt is empty");
  r.mutable_chat();
  ExpectInvalid(r, "chat.messages is empty");
  r.mutable_token_ids();
  ExpectInvalid(r, "token_ids.ids is empty");
  r.mutable_token_ids()->add_ids(1);
  r.mutable_token_ids()->add_ids(kVocab);
  ExpectInvalid(r, "token_ids.ids[1]");
  r.mutable_token_ids()->set_ids(1, -1);
  ExpectInvalid(r, "token_ids.ids[1]");
  r.mutable_token_ids()->set_ids(1, kVocab - 1);
  ExpectAccepted(r);
}

TEST_F(WorkerServiceContractTest, ChatNeedsAModelWithATemplate) {
  pb::GenerateRequest r = Request();
  pb::ChatMessage* m = r.mutable_chat()->add_messages();
  m->set_role("user");
  m->set_content("Hi");
  r.set_model("qwen2");  // ChatML
  ExpectAccepted(r);
  r.set_model("mistral");  // no template
  ExpectInvalid(r, "cannot take chat messages");
}

TEST_F(WorkerServiceContractTest, TokenizeNeedsOneInputAndAServedModel) {
  const auto tokenize = [this](const pb::TokenizeRequest& request) {
    grpc::ClientContext context;
    pb::TokenizeResponse response;
    return stub_->Tokenize(&context, request, &response);
  };
  pb::TokenizeRequest request;
  grpc::Status status = tokenize(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("no input"));
  request.mutable_chat();
  status = tokenize(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("chat.messages is empty"));
  request.set_prompt("Hi");
  request.set_model("nope");
  EXPECT_EQ(tokenize(request).error_code(), grpc::StatusCode::NOT_FOUND);
  request.set_model("mistral");
  EXPECT_TRUE(tokenize(request).ok());
}

TEST_F(WorkerServiceContractTest, SamplingRanges) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Case {
    const char* field;
    void (pb::GenerateRequest::*set)(float);
    std::vector<float> bad, good;
  };
  const std::vector<Case> cases = {
      {"temperature", &pb::GenerateRequest::set_temperature, {-0.01f, 100.5f, nan}, {0, 100}},
      {"top_p", &pb::GenerateRequest::set_top_p, {0, 1.01f, nan}, {0.01f, 1}},
      {"min_p", &pb::GenerateRequest::set_min_p, {-0.01f, 1.01f, nan}, {0, 1}},
      {"typical_p", &pb::GenerateRequest::set_typical_p, {0, 1.5f, nan}, {0.5f, 1}},
      {"repetition_penalty",
       &pb::GenerateRequest::set_repetition_penalty,
       {0, -1, inf, nan},
       {0.01f, 5}},
      {"presence_penalty",
       &pb::GenerateRequest::set_presence_penalty,
       {-2.01f, 2.01f, nan},
       {-2, 2}},
      {"frequency_penalty",
       &pb::GenerateRequest::set_frequency_penalty,
       {-2.01f, 2.01f, nan},
       {-2, 2}},
  };
  for (const Case& c : cases) {
    for (float v : c.bad) {
      pb::GenerateRequest r = Request();
      (r.*c.set)(v);
      SCOPED_TRACE(::testing::Message() << c.field << " = " << v);
      ExpectInvalid(r, c.field);
    }
    for (float v : c.good) {
      pb::GenerateRequest r = Request();
      (r.*c.set)(v);
      SCOPED_TRACE(::testing::Message() << c.field << " = " << v);
      ExpectAccepted(r);
    }
  }
  pb::GenerateRequest r = Request();
  r.set_top_k(-1);
  ExpectInvalid(r, "top_k");
  r.set_top_k(0);
  ExpectAccepted(r);
}

TEST_F(WorkerServiceContractTest, LogitBiasRanges) {
  pb::GenerateRequest r = Request();
  (*r.mutable_logit_bias())[kVocab] = 1;
  ExpectInvalid(r, "logit_bias token id");
  r.clear_logit_bias();
  (*r.mutable_logit_bias())[-1] = 1;
  ExpectInvalid(r, "logit_bias token id");
  r.clear_logit_bias();
  (*r.mutable_logit_bias())[5] = 100.5f;
  ExpectInvalid(r, "logit_bias for token 5");
  r.clear_logit_bias();
  (*r.mutable_logit_bias())[5] = -100;
  (*r.mutable_logit_bias())[6] = 100;
  ExpectAccepted(r);
  r.clear_logit_bias();
  for (int i = 0; i < 1025; ++i) (*r.mutable_logit_bias())[i] = 1;
  ExpectInvalid(r, "logit_bias has 1025 entries");
}

TEST_F(WorkerServiceContractTest, StoppingRanges) {
  pb::GenerateRequest r = Request();
  r.set_max_tokens(0);
  ExpectInvalid(r, "max_tokens");
  r.set_max_tokens(kContext);  // + the prompt's tokens > the context
  ExpectInvalid(r, "context length");
  r.set_max_tokens(4);
  r.set_min_tokens(-1);
  ExpectInvalid(r, "min_tokens");
  r.set_min_tokens(5);
  ExpectInvalid(r, "min_tokens");
  r.set_min_tokens(4);
  ExpectAccepted(r);

  r = Request();
  r.add_stop_token_ids(3);
  r.add_stop_token_ids(kVocab);
  ExpectInvalid(r, "stop_token_ids[1]");

  r = Request();
  for (int i = 0; i < 9; ++i) r.add_stop(absl::StrCat("s", i));
  ExpectInvalid(r, "at most 8 stop strings");
  r.mutable_stop()->RemoveLast();
  ExpectAccepted(r);
  r.set_stop(3, "");
  ExpectInvalid(r, "stop[3] must be 1 to 256 bytes");
  r.set_stop(3, std::string(257, 'x'));
  ExpectInvalid(r, "stop[3] must be 1 to 256 bytes");
  r.set_stop(3, std::string(256, 'x'));
  ExpectAccepted(r);
}

TEST_F(WorkerServiceContractTest, LogprobsRange) {
  pb::GenerateRequest r = Request();
  r.set_logprobs(-1);
  ExpectInvalid(r, "logprobs");
  r.set_logprobs(21);
  ExpectInvalid(r, "logprobs");
  r.set_logprobs(20);
  ExpectAccepted(r);
}

TEST_F(WorkerServiceContractTest, InvalidUtf8NamesTheFieldOnEveryRpc) {
  const std::string bad = "\xff\xfe\xc3(";
  struct Case {
    std::string method;
    std::string bytes;
    std::string field;
  };
  std::vector<Case> cases;
  {
    pb::GenerateRequest r = Request();
    r.set_prompt("PLACEHOLDER");
    cases.push_back({"Generate", WithBytes(r, "PLACEHOLDER", "prompt" + bad + "\x80"), "prompt"});
  }
  {
    pb::GenerateRequest r = Request();
    r.mutable_chat()->add_messages()->set_content("fine");
    pb::ChatMessage* m = r.mutable_chat()->add_messages();
    m->set_role("user");
    m->set_content("PLACE");
    cases.push_back(
        {"Generate", WithBytes(r, "PLACE", "x" + bad), "chat.messages[1].content is not valid"});
  }
  {
    pb::GenerateRequest r = Request();
    r.add_stop("ok");
    r.add_stop("ok too");
    r.add_stop("PLACE");
    cases.push_back({"Generate", WithBytes(r, "PLACE", "y" + bad), "stop[2] is not valid UTF-8"});
  }
  {
    pb::GenerateRequest r = Request();
    r.set_request_id("PLACE");
    cases.push_back({"Generate", WithBytes(r, "PLACE", "z" + bad), "request_id is not valid"});
  }
  {
    pb::AbortRequest r;
    r.set_request_id("PLACE");
    cases.push_back({"Abort", WithBytes(r, "PLACE", "z" + bad), "request_id is not valid"});
  }
  {
    pb::TokenizeRequest r;
    r.set_prompt("PLACE");
    cases.push_back({"Tokenize", WithBytes(r, "PLACE", "z" + bad), "prompt is not valid UTF-8"});
  }
  {
    pb::DetokenizeRequest r;
    r.set_model("PLACE");
    cases.push_back({"Detokenize", WithBytes(r, "PLACE", "z" + bad), "model is not valid UTF-8"});
  }
  // Bytes that are no protobuf at all (a truncated length-delimited field).
  for (const char* method : {"ListModels", "GetLoad", "Detokenize", "Generate"}) {
    cases.push_back({method, std::string("\x0a\x7f\x01", 3), "not a valid llmworker.v1."});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + ": " + c.field);
    // A refused Generate ends before any event, so a unary-shaped call sees its status.
    const grpc::Status status = RawUnary(*worker_->channel, c.method, c.bytes);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.field));
  }
}

TEST_F(WorkerServiceContractTest, ValidRawBytesStillWork) {
  pb::TokenizeRequest r;
  r.set_prompt("Hello");
  std::string reply;
  ASSERT_TRUE(RawUnary(*worker_->channel, "Tokenize", r.SerializeAsString(), &reply).ok());
  pb::TokenizeResponse response;
  ASSERT_TRUE(response.ParseFromString(reply));
  EXPECT_GT(response.ids_size(), 0);
}

TEST_F(WorkerServiceContractTest, SpecialTokenTextIsParsedUnlessAskedOtherwise) {
  const std::string text = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
  pb::TokenizeRequest tokenize;
  tokenize.set_prompt(text);
  tokenize.set_add_special_tokens(false);
  const std::vector<int32_t> parsed = TokenIds(tokenize);
  ASSERT_FALSE(parsed.empty());
  EXPECT_EQ(parsed.front(), 906);  // <|start_header_id|>
  EXPECT_THAT(parsed, ::testing::Contains(907));
  EXPECT_EQ(parsed.back(), 909);  // <|eot_id|>
  tokenize.set_special_tokens_as_text(true);
  const std::vector<int32_t> literal = TokenIds(tokenize);
  EXPECT_THAT(literal, ::testing::Not(::testing::Contains(906)));
  EXPECT_GT(literal.size(), parsed.size());

  // Generate(prompt) runs exactly the ids Tokenize gives, so it equals Generate(token_ids).
  pb::GenerateRequest by_text = Request();
  by_text.set_prompt(text);
  by_text.set_max_tokens(8);
  by_text.set_ignore_eos(true);
  tokenize.set_special_tokens_as_text(false);
  tokenize.clear_add_special_tokens();
  const std::vector<int32_t> prompt_ids = TokenIds(tokenize);
  pb::GenerateRequest by_ids = by_text;
  for (int32_t id : prompt_ids) by_ids.mutable_token_ids()->add_ids(id);
  const Stream a = Generate(by_text);
  const Stream b = Generate(by_ids);
  ASSERT_TRUE(a.status.ok() && b.status.ok());
  ASSERT_EQ(a.events.size(), b.events.size());
  EXPECT_EQ(a.events.front().started().prompt_tokens(), static_cast<int64_t>(prompt_ids.size()));
  for (size_t i = 1; i + 1 < a.events.size(); ++i) {
    EXPECT_EQ(a.events[i].token().id(), b.events[i].token().id()) << i;
  }
}

TEST_F(WorkerServiceContractTest, DetokenizingATruncatedCharacterGivesOneReplacement) {
  // The tiny llama is byte-level BPE: a token for each single byte.
  const Tokenizer& tokenizer = worker_->models->Find("llama")->runner->tokenizer();
  std::vector<int32_t> euro;  // the three bytes of "€" as three tokens
  for (const char byte : std::string("\xE2\x82\xAC")) {
    for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
      const int32_t ids[] = {id};
      if (tokenizer.Decode(ids, false) == std::string(1, byte)) {
        euro.push_back(id);
        break;
      }
    }
  }
  ASSERT_EQ(euro.size(), 3u);
  for (size_t n = 1; n <= 3; ++n) {
    grpc::ClientContext context;
    pb::DetokenizeRequest request;
    for (size_t i = 0; i < n; ++i) request.add_ids(euro[i]);
    pb::DetokenizeResponse response;
    ASSERT_TRUE(stub_->Detokenize(&context, request, &response).ok());
    EXPECT_EQ(response.text(), n == 3 ? "\u20AC" : "\uFFFD") << n;
  }
  grpc::ClientContext context;
  pb::DetokenizeRequest request;
  request.add_ids(1);
  request.add_ids(kVocab);
  pb::DetokenizeResponse response;
  const grpc::Status status = stub_->Detokenize(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("ids[1]"));
}

// With a real model, so that the first request is still generating while the duplicates come.
TEST(WorkerServiceIdsTest, RequestIdsAreUniqueAcrossTheWorker) {
  LLMW_TEST_MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf", "LLMW_SMOLLM2_GGUF");
  std::unique_ptr<InProcessWorker> worker =
      InProcessWorker::Start({{"smollm2", path}, {"tiny", Fixture("llama-Q8_0.gguf")}},
                             EngineOptions{}, /*kv_cache_bytes=*/200 << 20);
  ASSERT_NE(worker, nullptr);
  auto stub = pb::Worker::NewStub(worker->channel);

  pb::GenerateRequest running;
  running.set_prompt("Count to ten thousand:");
  running.set_temperature(0);
  running.set_ignore_eos(true);
  running.set_max_tokens(4000);
  running.set_request_id("unique-id");
  grpc::ClientContext context;
  auto reader = stub->Generate(&context, running);
  pb::GenerateResponse event;
  ASSERT_TRUE(reader->Read(&event));
  ASSERT_TRUE(event.has_started());

  for (const char* model : {"smollm2", "tiny"}) {
    pb::GenerateRequest duplicate;
    duplicate.set_prompt("Hi");
    duplicate.set_max_tokens(2);
    duplicate.set_request_id("unique-id");
    duplicate.set_model(model);
    grpc::ClientContext duplicate_context;
    auto duplicate_reader = stub->Generate(&duplicate_context, duplicate);
    EXPECT_FALSE(duplicate_reader->Read(&event)) << "errors come before any event";
    const grpc::Status status = duplicate_reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << model;
    EXPECT_THAT(status.error_message(), HasSubstr("unique-id"));
  }
  // The refused duplicates must not have dropped the live stream from the worker's books:
  // cancelling every live stream (what the drain timeout does) still reaches it.
  worker->service->CancelAllStreams();
  pb::GenerateResponse last;
  int tokens = 0;
  while (reader->Read(&event)) {
    tokens += event.has_token();
    last = event;
  }
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(last.finished().reason(), pb::FINISH_REASON_CANCELLED) << last.DebugString();
  EXPECT_LT(tokens, 4000);
}

}  // namespace
}  // namespace llmw
