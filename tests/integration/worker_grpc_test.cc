// The real llm-worker binary with SmolLM2, driven over gRPC: concurrent streams keep the contract
// and equal the same requests run alone, cancelled and aborted requests free their sequence,
// invalid requests and a full queue are refused with their codes, health follows the worker's
// life until it drains and exits 0 on SIGTERM, the tokenizer RPCs round-trip, and a real
// Prometheus server scrapes its metrics.
//
// The suite runs as one process so that one worker serves most tests (started on first use);
// the queue-full test starts a second, small one, and the health test stops the shared one.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "grpc_health_v1.grpc.pb.h"
#include "grpc_reflection_v1alpha.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "llmworker/v1/worker.grpc.pb.h"
#include "tests/integration/child_process.h"
#include "tests/integration/host_util.h"
#include "tests/integration/worker_process.h"
#include "tests/test_models.h"

namespace llmw::testing {
namespace {

namespace pb = ::llmworker::v1;
using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

constexpr char kModelFile[] = "SmolLM2-135M-Instruct.Q4_1.gguf";
constexpr char kModelEnv[] = "LLMW_SMOLLM2_GGUF";
constexpr char kServiceName[] = "llmworker.v1.Worker";

void SetDeadline(grpc::ClientContext& context, int seconds) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

struct StreamResult {
  grpc::Status status;
  std::vector<pb::GenerateResponse> events;
};

StreamResult RunStream(pb::Worker::Stub& stub, const pb::GenerateRequest& request,
                       int timeout_seconds = 60) {
  grpc::ClientContext context;
  SetDeadline(context, timeout_seconds);
  std::unique_ptr<grpc::ClientReader<pb::GenerateResponse>> reader =
      stub.Generate(&context, request);
  StreamResult result;
  pb::GenerateResponse event;
  while (reader->Read(&event)) result.events.push_back(event);
  result.status = reader->Finish();
  return result;
}

// The token ids of a stream that kept the contract: status OK, Started first, then exactly
// usage.completion_tokens Token events, then Finished with `reason`. Adds failures otherwise.
std::vector<int32_t> CheckedTokenIds(const StreamResult& result, pb::FinishReason reason,
                                     const std::string& what) {
  std::vector<int32_t> ids;
  EXPECT_TRUE(result.status.ok()) << what << ": " << result.status.error_message();
  if (result.events.size() < 2) {
    ADD_FAILURE() << what << ": only " << result.events.size() << " events";
    return ids;
  }
  EXPECT_TRUE(result.events.front().has_started()) << what;
  for (size_t i = 1; i + 1 < result.events.size(); ++i) {
    EXPECT_TRUE(result.events[i].has_token()) << what << ": event " << i;
    ids.push_back(result.events[i].token().id());
  }
  const pb::GenerateResponse& last = result.events.back();
  EXPECT_TRUE(last.has_finished()) << what;
  EXPECT_EQ(last.finished().reason(), reason) << what << ": " << last.finished().detail();
  EXPECT_EQ(last.finished().usage().completion_tokens(), static_cast<int64_t>(ids.size())) << what;
  return ids;
}

// The single model's load report.
std::optional<pb::LoadReport> GetLoad(pb::Worker::Stub& stub) {
  grpc::ClientContext context;
  SetDeadline(context, 10);
  pb::GetLoadResponse response;
  const grpc::Status status = stub.GetLoad(&context, pb::GetLoadRequest(), &response);
  if (!status.ok() || response.models_size() != 1) return std::nullopt;
  return response.models(0);
}

// Polls GetLoad until `done` holds for the report (true) or `timeout` passes (false).
template <typename Predicate>
bool WaitForLoad(pb::Worker::Stub& stub, Predicate done, std::chrono::milliseconds timeout,
                 pb::LoadReport* last) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::optional<pb::LoadReport> report = GetLoad(stub);
    if (report) {
      *last = *report;
      if (done(*report)) return true;
    }
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool Idle(const pb::LoadReport& r) {
  return r.running() == 0 && r.waiting() == 0 && r.kv_blocks_used() == 0;
}

bool Abort(pb::Worker::Stub& stub, const std::string& id) {
  grpc::ClientContext context;
  SetDeadline(context, 10);
  pb::AbortRequest request;
  request.set_request_id(id);
  pb::AbortResponse response;
  const grpc::Status status = stub.Abort(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.found();
}

// An open Generate call.
struct OpenStream {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<pb::GenerateResponse>> reader;

  OpenStream(pb::Worker::Stub& stub, const pb::GenerateRequest& request, int timeout_seconds) {
    SetDeadline(context, timeout_seconds);
    reader = stub.Generate(&context, request);
  }
  // Reads the rest of the stream; returns its last event (empty when none) and the status.
  grpc::Status Drain(pb::GenerateResponse* last) {
    pb::GenerateResponse event;
    while (reader->Read(&event)) *last = event;
    return reader->Finish();
  }
};

HealthCheckResponse::ServingStatus Check(Health::Stub& health, const std::string& service) {
  grpc::ClientContext context;
  SetDeadline(context, 10);
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  const grpc::Status status = health.Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << service << ": " << status.error_message();
  return response.status();
}

class WorkerGrpcTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { shared_worker_.reset(); }

  void SetUp() override {
    LLMW_TEST_MODEL_OR_SKIP(path, kModelFile, kModelEnv);
    model_path_ = path;
    if (shared_worker_ != nullptr &&
        shared_worker_->process().WaitExit(std::chrono::milliseconds(0))) {
      ADD_FAILURE() << "the shared worker died; its log:\n" << shared_worker_->process().Log();
      shared_worker_.reset();
    }
    if (shared_worker_ == nullptr) {
      std::string error;
      shared_worker_ =
          WorkerProcess::Start(LLMW_WORKER_BINARY, model_path_,
                               {"--kv-cache-memory", "300000000", "--drain-timeout", "10"}, &error);
      ASSERT_NE(shared_worker_, nullptr) << error;
    }
    worker_ = shared_worker_.get();
  }

  pb::Worker::Stub& stub() { return worker_->stub(); }

  // The worker most tests share; a test that stops it resets it, and the next one starts another.
  static inline std::unique_ptr<WorkerProcess> shared_worker_;
  WorkerProcess* worker_ = nullptr;
  std::string model_path_;
};

TEST_F(WorkerGrpcTest, ConcurrentStreamsCompleteAndEqualTheSameRequestsAlone) {
  const std::vector<std::string> subjects = {"The history of the printing press",
                                             "How bees make honey",
                                             "A recipe for tomato soup",
                                             "Why the sky is blue",
                                             "The rules of chess",
                                             "How a compiler works",
                                             "The life of a mountain river",
                                             "What makes a good friend"};
  constexpr int kClients = 16;
  std::vector<pb::GenerateRequest> requests;
  for (int i = 0; i < kClients; ++i) {
    std::string prompt = subjects[i % subjects.size()];
    // Different prompt lengths: the second half gets a longer preamble.
    if (i >= static_cast<int>(subjects.size())) {
      prompt = "Please write a short, clear paragraph for a school textbook. Topic: " + prompt;
    }
    requests.push_back(GreedyRequest(prompt + ".", 8 + (i * 16) / (kClients - 1)));
  }

  std::vector<StreamResult> together(kClients);
  {
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] { together[i] = RunStream(stub(), requests[i]); });
    }
    for (std::thread& t : clients) t.join();
  }
  for (int i = 0; i < kClients; ++i) {
    const std::string what = "concurrent client " + std::to_string(i);
    const std::vector<int32_t> ids = CheckedTokenIds(together[i], pb::FINISH_REASON_LENGTH, what);
    EXPECT_EQ(static_cast<int>(ids.size()), requests[i].max_tokens()) << what;
    const std::vector<int32_t> alone = CheckedTokenIds(
        RunStream(stub(), requests[i]), pb::FINISH_REASON_LENGTH, "alone " + std::to_string(i));
    EXPECT_EQ(ids, alone) << "client " << i << " (prompt '" << requests[i].prompt()
                          << "') differs between the batch and running alone";
  }
}

TEST_F(WorkerGrpcTest, ClientCancelFreesTheSequence) {
  OpenStream stream(stub(), GreedyRequest("Tell me a very long story about a dragon.", 2000), 60);
  int tokens = 0;
  pb::GenerateResponse event;
  while (tokens < 3 && stream.reader->Read(&event)) tokens += event.has_token() ? 1 : 0;
  ASSERT_EQ(tokens, 3);
  const std::optional<pb::LoadReport> busy = GetLoad(stub());
  ASSERT_TRUE(busy.has_value());
  EXPECT_EQ(busy->running(), 1);
  EXPECT_GT(busy->kv_blocks_used(), 0);

  stream.context.TryCancel();
  pb::GenerateResponse last;
  EXPECT_EQ(stream.Drain(&last).error_code(), grpc::StatusCode::CANCELLED);
  pb::LoadReport report;
  EXPECT_TRUE(WaitForLoad(stub(), Idle, std::chrono::seconds(10), &report))
      << "still busy after the cancel: " << report.DebugString();
}

TEST_F(WorkerGrpcTest, AbortEndsTheStreamWithCancelled) {
  pb::GenerateRequest request = GreedyRequest("Count from one to one thousand in words.", 2000);
  request.set_request_id("itest-abort-1");
  OpenStream stream(stub(), request, 60);
  pb::GenerateResponse event;
  ASSERT_TRUE(stream.reader->Read(&event));
  ASSERT_TRUE(event.has_started());
  EXPECT_EQ(event.started().request_id(), "itest-abort-1");
  ASSERT_TRUE(stream.reader->Read(&event));
  EXPECT_TRUE(event.has_token());

  EXPECT_TRUE(Abort(stub(), "itest-abort-1"));
  pb::GenerateResponse last;
  const grpc::Status status = stream.Drain(&last);
  EXPECT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(last.has_finished());
  EXPECT_EQ(last.finished().reason(), pb::FINISH_REASON_CANCELLED) << last.finished().detail();
  EXPECT_LT(last.finished().usage().completion_tokens(), 2000);

  EXPECT_FALSE(Abort(stub(), "itest-abort-1")) << "a finished request is not found";
  EXPECT_FALSE(Abort(stub(), "itest-no-such-request"));
}

TEST_F(WorkerGrpcTest, InvalidRequestsAreRefusedWithTheirReason) {
  struct Case {
    std::string name;
    pb::GenerateRequest request;
    std::string message_part;
  };
  std::vector<Case> cases;
  {
    pb::GenerateRequest r = GreedyRequest("Hello", 4);
    r.set_top_p(1.5f);
    cases.push_back({"top_p 1.5", r, "top_p"});
  }
  {
    pb::GenerateRequest r = GreedyRequest("Hello", 4);
    r.set_temperature(-1);
    cases.push_back({"temperature -1", r, "temperature"});
  }
  {
    pb::GenerateRequest r = GreedyRequest("Hello", 4);
    r.clear_prompt();
    cases.push_back({"no input", r, "no input"});
  }
  {
    pb::GenerateRequest r = GreedyRequest("Hello", 4);
    for (int i = 0; i < 9; ++i) r.add_stop("stop" + std::to_string(i));
    cases.push_back({"9 stop strings", r, "stop strings"});
  }
  {
    pb::GenerateRequest r = GreedyRequest("Hello", 9000);
    cases.push_back({"max_tokens past the context", r, "context length"});
  }
  for (const Case& c : cases) {
    const StreamResult result = RunStream(stub(), c.request, 10);
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_NE(result.status.error_message().find(c.message_part), std::string::npos)
        << c.name << ": '" << result.status.error_message() << "' does not mention '"
        << c.message_part << "'";
    EXPECT_TRUE(result.events.empty()) << c.name << ": errors come before any event";
  }
}

TEST_F(WorkerGrpcTest, ListModelsTokenizeDetokenize) {
  {
    grpc::ClientContext context;
    SetDeadline(context, 10);
    pb::ListModelsResponse response;
    ASSERT_TRUE(stub().ListModels(&context, pb::ListModelsRequest(), &response).ok());
    ASSERT_EQ(response.models_size(), 1);
    const pb::ModelInfo& m = response.models(0);
    EXPECT_EQ(m.name(), "smollm2");
    EXPECT_EQ(m.architecture(), "llama");
    EXPECT_EQ(m.context_length(), 8192);
    EXPECT_EQ(m.vocab_size(), 49152);
    EXPECT_GT(m.parameters(), 100'000'000);
    EXPECT_TRUE(m.capabilities().chat_template());
    EXPECT_FALSE(m.capabilities().end_of_generation_token_ids().empty());
  }
  const std::string text = "Hello, world! The quick brown fox jumps over 13 lazy dogs. Ünïcødé ✓";
  pb::TokenizeResponse tokens;
  {
    grpc::ClientContext context;
    SetDeadline(context, 10);
    pb::TokenizeRequest request;
    request.set_prompt(text);
    ASSERT_TRUE(stub().Tokenize(&context, request, &tokens).ok());
  }
  ASSERT_GT(tokens.ids_size(), 5);
  EXPECT_EQ(tokens.ids_size(), tokens.pieces_size());
  pb::DetokenizeResponse detokenized;
  {
    grpc::ClientContext context;
    SetDeadline(context, 10);
    pb::DetokenizeRequest request;
    *request.mutable_ids() = tokens.ids();
    ASSERT_TRUE(stub().Detokenize(&context, request, &detokenized).ok());
  }
  EXPECT_EQ(detokenized.text(), text);
  {
    grpc::ClientContext context;
    SetDeadline(context, 10);
    pb::DetokenizeRequest request;
    request.add_ids(49152);
    pb::DetokenizeResponse response;
    EXPECT_EQ(stub().Detokenize(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(WorkerGrpcTest, FullQueueRefusesWithResourceExhausted) {
  std::string error;
  std::unique_ptr<WorkerProcess> small = WorkerProcess::Start(
      LLMW_WORKER_BINARY, model_path_,
      {"--kv-cache-memory", "100000000", "--max-running", "1", "--max-waiting", "1"}, &error);
  ASSERT_NE(small, nullptr) << error;
  pb::Worker::Stub& s = small->stub();

  pb::GenerateRequest running = GreedyRequest("Write a long essay about the sea.", 2000);
  running.set_request_id("itest-busy-running");
  OpenStream first(s, running, 60);
  pb::GenerateResponse event;
  ASSERT_TRUE(first.reader->Read(&event));
  ASSERT_TRUE(event.has_started());

  pb::GenerateRequest queued = GreedyRequest("Write a long essay about the desert.", 2000);
  queued.set_request_id("itest-busy-queued");
  OpenStream second(s, queued, 60);
  pb::LoadReport report;
  ASSERT_TRUE(WaitForLoad(
      s, [](const pb::LoadReport& r) { return r.running() == 1 && r.waiting() == 1; },
      std::chrono::seconds(10), &report))
      << report.DebugString();

  const StreamResult refused = RunStream(s, GreedyRequest("One more, please.", 4), 10);
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.status.error_message();
  EXPECT_NE(refused.status.error_message().find("overloaded"), std::string::npos)
      << refused.status.error_message();
  EXPECT_TRUE(refused.events.empty());

  EXPECT_TRUE(Abort(s, "itest-busy-queued"));
  EXPECT_TRUE(Abort(s, "itest-busy-running"));
  for (OpenStream* stream : {&first, &second}) {
    pb::GenerateResponse last;
    EXPECT_TRUE(stream->Drain(&last).ok());
    EXPECT_EQ(last.finished().reason(), pb::FINISH_REASON_CANCELLED) << last.DebugString();
  }
}

TEST_F(WorkerGrpcTest, PrometheusScrapesTheMetrics) {
  const std::optional<std::string> prometheus = FindOnPath("prometheus");
  if (!prometheus) {
    if (ModelsRequired()) FAIL() << "prometheus is not installed and LLMW_REQUIRE_MODELS=1";
    GTEST_SKIP() << "prometheus is not installed (scripts/setup.sh installs it)";
  }
  // At least one finished request, so llmw_requests_total has a sample.
  CheckedTokenIds(RunStream(stub(), GreedyRequest("Metrics, please.", 4)), pb::FINISH_REASON_LENGTH,
                  "warm-up");
  const std::optional<pb::LoadReport> load = GetLoad(stub());
  ASSERT_TRUE(load.has_value());

  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  {
    std::ofstream config(dir.path() + "/prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           << "scrape_configs:\n  - job_name: llmw\n    static_configs:\n"
           << "      - targets: ['127.0.0.1:" << worker_->metrics_port() << "']\n";
  }
  const int port = FreePort();
  ASSERT_GT(port, 0);
  std::string error;
  std::unique_ptr<ChildProcess> server =
      ChildProcess::Start(*prometheus,
                          {"--config.file=" + dir.path() + "/prometheus.yml",
                           "--storage.tsdb.path=" + dir.path() + "/data",
                           "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                          &error);
  ASSERT_NE(server, nullptr) << error;

  std::optional<double> capacity, requests;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < end && !(capacity && requests)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    capacity = PrometheusQuery(port, "llmw_kv_cache_blocks_capacity");
    requests = PrometheusQuery(port, "sum(llmw_requests_total)");
    ASSERT_FALSE(server->WaitExit(std::chrono::milliseconds(0))) << "prometheus exited:\n"
                                                                 << server->Log();
  }
  ASSERT_TRUE(capacity && requests) << "nothing scraped in 30 s; prometheus log:\n"
                                    << server->Log();
  EXPECT_EQ(*capacity, static_cast<double>(load->kv_blocks_total()));
  EXPECT_GE(*requests, 1.0);

  server->Signal(SIGTERM);
  EXPECT_TRUE(server->WaitExit(std::chrono::seconds(15))) << "prometheus did not stop";
}

// The value of the sample `series` (name and labels, as written) in a /metrics scrape.
std::optional<double> ScrapedValue(int metrics_port, const std::string& series) {
  ::llmw::metrics::testing::HttpResponse response;
  if (!::llmw::metrics::testing::HttpRequest(metrics_port, "GET", "/metrics", &response)) {
    return std::nullopt;
  }
  const std::string key = "\n" + series + " ";
  const size_t at = ("\n" + response.body).find(key);
  if (at == std::string::npos) return std::nullopt;
  return std::stod(response.body.substr(at + key.size() - 1));
}

// GetLoad (what the scheduler sees) and /metrics (what Prometheus sees) count the same: on a
// fresh worker both start at zero, so the start-up warm-up request is in neither, and after
// known requests both hold exactly their tokens and the same prefix-cache counts.
TEST_F(WorkerGrpcTest, GetLoadAndPrometheusCountTheSameRequests) {
  std::string error;
  std::unique_ptr<WorkerProcess> fresh = WorkerProcess::Start(
      LLMW_WORKER_BINARY, model_path_, {"--kv-cache-memory", "100000000"}, &error);
  ASSERT_NE(fresh, nullptr) << error;
  const int metrics = fresh->metrics_port();
  const std::string model = "{model=\"smollm2\"}";

  std::optional<pb::LoadReport> load = GetLoad(fresh->stub());
  ASSERT_TRUE(load.has_value());
  EXPECT_EQ(load->generated_tokens(), 0);
  EXPECT_EQ(load->prefix_cache_query_tokens(), 0);
  EXPECT_EQ(ScrapedValue(metrics, "llmw_generation_tokens_total" + model), 0.0);
  EXPECT_EQ(ScrapedValue(metrics, "llmw_prefix_cache_query_tokens_total" + model), 0.0);

  // The same prompt twice: the second finds its prefix in the cache.
  const std::string prompt =
      "The history of astronomy begins with the earliest records of the night sky, kept by "
      "people who watched the stars rise and set through the seasons of the year.";
  int64_t generated = 0, prompt_tokens = 0;
  for (int max_tokens : {5, 7, 9}) {
    StreamResult result = RunStream(fresh->stub(), GreedyRequest(prompt, max_tokens));
    CheckedTokenIds(result, pb::FINISH_REASON_LENGTH, "request");
    ASSERT_FALSE(result.events.empty());
    generated += result.events.back().finished().usage().completion_tokens();
    prompt_tokens += result.events.back().finished().usage().prompt_tokens();
  }
  EXPECT_EQ(generated, 5 + 7 + 9);

  load = GetLoad(fresh->stub());
  ASSERT_TRUE(load.has_value());
  EXPECT_EQ(load->generated_tokens(), generated);
  EXPECT_EQ(ScrapedValue(metrics, "llmw_generation_tokens_total" + model), generated);
  EXPECT_GT(load->prefix_cache_hit_tokens(), 0);
  EXPECT_EQ(ScrapedValue(metrics, "llmw_prefix_cache_hit_tokens_total" + model),
            load->prefix_cache_hit_tokens());
  EXPECT_EQ(ScrapedValue(metrics, "llmw_prefix_cache_query_tokens_total" + model),
            load->prefix_cache_query_tokens());
  EXPECT_EQ(ScrapedValue(metrics, "llmw_prompt_tokens_total" + model), prompt_tokens);
  EXPECT_EQ(ScrapedValue(metrics, "llmw_requests_total{model=\"smollm2\",reason=\"length\"}"), 3.0);

  // The memory the model holds: the KV cache within --kv-cache-memory, the same on both sides.
  EXPECT_EQ(load->device(), "cpu");
  EXPECT_GT(load->weight_bytes(), 0);
  EXPECT_GT(load->workspace_bytes(), 0);
  EXPECT_GT(load->kv_cache_bytes(), 90000000);
  EXPECT_LE(load->kv_cache_bytes(), 100000000);
  const std::string memory = "llmw_model_memory_bytes{model=\"smollm2\",device=\"cpu\",part=";
  EXPECT_EQ(ScrapedValue(metrics, memory + "\"weights\"}"), load->weight_bytes());
  EXPECT_EQ(ScrapedValue(metrics, memory + "\"workspace\"}"), load->workspace_bytes());
  EXPECT_EQ(ScrapedValue(metrics, memory + "\"kv_cache\"}"), load->kv_cache_bytes());
}

// Server reflection lists the Worker and health services (what grpcurl's
// `list` asks), so the API can be explored without the proto files.
TEST_F(WorkerGrpcTest, ReflectionListsTheServices) {
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(worker_->channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  EXPECT_THAT(names, ::testing::IsSupersetOf({"llmworker.v1.Worker", "grpc.health.v1.Health"}));
  while (stream->Read(&response)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
}

// Stops the shared worker: keep it last.
TEST_F(WorkerGrpcTest, HealthFollowsTheWorkerUntilItDrainsAndExits) {
  std::unique_ptr<Health::Stub> health = Health::NewStub(worker_->channel());
  EXPECT_EQ(Check(*health, ""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(*health, kServiceName), HealthCheckResponse::SERVING);

  grpc::ClientContext context;
  SetDeadline(context, 30);
  HealthCheckRequest request;
  request.set_service(kServiceName);
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> watch = health->Watch(&context, request);
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  std::unique_ptr<WorkerProcess> worker = std::move(shared_worker_);
  ASSERT_TRUE(worker->process().Signal(SIGTERM));
  ASSERT_TRUE(watch->Read(&response)) << "the watch ended without NOT_SERVING; the worker's log:\n"
                                      << worker->process().Log();
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  context.TryCancel();  // the drain would wait for this call otherwise
  watch->Finish();

  const std::optional<int> exit_status = worker->process().WaitExit(std::chrono::seconds(20));
  ASSERT_TRUE(exit_status.has_value()) << "the worker did not exit; its log:\n"
                                       << worker->process().Log();
  EXPECT_TRUE(WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 0)
      << "wait status " << *exit_status << "; log:\n"
      << worker->process().Log();
  EXPECT_NE(worker->process().Log().find("draining"), std::string::npos);
}

}  // namespace
}  // namespace llmw::testing
