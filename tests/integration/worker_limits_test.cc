// The real llm-worker binary with SmolLM2 under hostile clients: a burst of 1,000 requests with
// large prompts against --max-waiting 16 stays within a memory bound and every excess request is
// refused at once; a client that opens a stream and never reads holds neither the engine nor
// memory; and with --log-format json every line the process writes is one JSON object, the
// libraries' messages included.
#include <grpcpp/generic/generic_stub.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "llmworker/v1/worker.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/integration/worker_process.h"
#include "tests/test_models.h"

namespace llmw::testing {
namespace {

namespace pb = ::llmworker::v1;
using Clock = std::chrono::steady_clock;

constexpr char kModelFile[] = "SmolLM2-135M-Instruct.Q4_1.gguf";
constexpr char kModelEnv[] = "LLMW_SMOLLM2_GGUF";

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A field of /proc/PID/status in bytes ("VmRSS", "VmHWM"); -1 when unreadable.
int64_t ProcStatusBytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
  }
  return -1;
}

pb::LoadReport Load(pb::Worker::Stub& stub) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  pb::GetLoadResponse response;
  EXPECT_TRUE(stub.GetLoad(&context, pb::GetLoadRequest(), &response).ok());
  return response.models_size() == 1 ? response.models(0) : pb::LoadReport();
}

// One streaming call on the callback API: reads every event, records when it ended and how.
class Call : public grpc::ClientReadReactor<pb::GenerateResponse> {
 public:
  void Start(pb::Worker::Stub& stub, const pb::GenerateRequest& request) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(600));
    sent_ = Clock::now();
    stub.async()->Generate(&context_, &request, this);
    StartRead(&event_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    ++events_;
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    seconds_ = Seconds(Clock::now() - sent_);
    done_ = true;
    cv_.notify_all();
  }
  bool Wait(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return done_; });
  }
  const grpc::Status& status() const { return status_; }
  int events() const { return events_; }
  double seconds() const { return seconds_; }

 private:
  grpc::ClientContext context_;
  pb::GenerateResponse event_;
  Clock::time_point sent_;
  int events_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  grpc::Status status_;
  double seconds_ = 0;
};

// Greedy decode speed of one request alone on `stub`, in tokens per second after the first.
double DecodeSpeed(pb::Worker::Stub& stub, int tokens) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  auto reader = stub.Generate(&context, GreedyRequest("Tell me about the sea.", tokens));
  pb::GenerateResponse event;
  Clock::time_point first{};
  int n = 0;
  while (reader->Read(&event)) {
    if (!event.has_token()) continue;
    if (n++ == 0) first = Clock::now();
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(n, tokens);
  return (n - 1) / Seconds(Clock::now() - first);
}

class WorkerLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LLMW_TEST_MODEL_OR_SKIP(path, kModelFile, kModelEnv);
    model_path_ = path;
  }
  std::unique_ptr<WorkerProcess> Start(const std::vector<std::string>& args) {
    std::string error;
    std::unique_ptr<WorkerProcess> worker =
        WorkerProcess::Start(LLMW_WORKER_BINARY, model_path_, args, &error);
    EXPECT_NE(worker, nullptr) << error;
    return worker;
  }
  std::string model_path_;
};

// Sanitizer builds: ASan keeps up to 256 MiB of freed memory in quarantine, and speeds measured
// under a sanitizer say nothing about the worker's.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LLMW_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LLMW_SANITIZED 1
#endif
#ifdef LLMW_SANITIZED
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Resident memory may grow by at most this much during the burst (the README states it).
constexpr int64_t kBurstMemoryBound = (256 << 20) + (kSanitized ? int64_t{512} << 20 : 0);
// A refused request's answer may take at most this long, even on a busy 2-core machine.
constexpr double kRefusalSeconds = kSanitized ? 60 : 10;

TEST_F(WorkerLimitsTest, BurstOfLargePromptsIsRefusedAtOnceWithinAMemoryBound) {
  std::unique_ptr<WorkerProcess> worker =
      Start({"--max-waiting", "16", "--max-running", "2", "--kv-cache-memory", "300000000"});
  ASSERT_NE(worker, nullptr);
  const pid_t pid = worker->process().pid();
  const int64_t rss_before = ProcStatusBytes(pid, "VmRSS");
  ASSERT_GT(rss_before, 0);

  // About 1,400 tokens each: 1,000 of them are 1.4 million prompt tokens, far past the queue.
  std::string prompt;
  while (prompt.size() < 6000) prompt += "The burst of large prompts goes on and on. ";
  constexpr int kCalls = 1000;
  std::vector<std::unique_ptr<Call>> calls;
  std::atomic<bool> sampling{true};
  int64_t max_waiting = 0, max_running = 0;
  std::thread sampler([&] {
    while (sampling.load()) {
      const pb::LoadReport load = Load(worker->stub());
      max_waiting = std::max(max_waiting, load.waiting());
      max_running = std::max(max_running, load.running());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::make_unique<Call>());
    calls.back()->Start(worker->stub(), GreedyRequest(prompt + std::to_string(i), 2));
  }
  int served = 0, refused = 0;
  double slowest_refusal = 0;
  for (const auto& call : calls) {
    ASSERT_TRUE(call->Wait(std::chrono::seconds(600))) << "a call never ended";
    if (call->status().ok()) {
      ++served;
      EXPECT_EQ(call->events(), 4);  // Started, 2 tokens, Finished
    } else {
      ++refused;
      EXPECT_EQ(call->status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << call->status().error_message();
      EXPECT_THAT(call->status().error_message(), ::testing::HasSubstr("overloaded"));
      EXPECT_EQ(call->events(), 0);
      slowest_refusal = std::max(slowest_refusal, call->seconds());
    }
  }
  sampling.store(false);
  sampler.join();
  const int64_t peak = ProcStatusBytes(pid, "VmHWM");
  std::printf(
      "burst: %d served, %d refused, slowest refusal %.2f s, resident %lld MiB before, "
      "peak %lld MiB\n",
      served, refused, slowest_refusal, static_cast<long long>(rss_before >> 20),
      static_cast<long long>(peak >> 20));
  EXPECT_GE(served, 17);    // one running and 16 waiting at least
  EXPECT_GE(refused, 900);  // the rest, but for those that found a freed place
  EXPECT_LE(max_waiting, 16);
  EXPECT_LE(max_running, 2);
  EXPECT_LT(slowest_refusal, kRefusalSeconds);
  EXPECT_LT(peak - rss_before, kBurstMemoryBound);
  // The worker still serves.
  EXPECT_GT(DecodeSpeed(worker->stub(), 8), 0);
}

TEST_F(WorkerLimitsTest, AStreamThatIsNeverReadDoesNotHoldTheEngine) {
  std::unique_ptr<WorkerProcess> worker = Start({"--kv-cache-memory", "500000000"});
  ASSERT_NE(worker, nullptr);
  const double alone = DecodeSpeed(worker->stub(), 64);

  // A client that never reads, with a small flow-control window so that it stalls early.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto stalled_stub = pb::Worker::NewStub(grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(worker->port()), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext stalled_context;
  stalled_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
  constexpr int kStalledTokens = 8000;
  auto stalled =
      stalled_stub->Generate(&stalled_context, GreedyRequest("Count: 1, 2, 3,", kStalledTokens));
  const auto until = Clock::now() + std::chrono::seconds(30);
  while (Load(worker->stub()).running() == 0 && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  // The others keep their speed while it stalls...
  const double beside = DecodeSpeed(worker->stub(), 64);
  std::printf("decode alone %.1f tok/s, beside a stalled stream %.1f tok/s\n", alone, beside);
  if (!kSanitized) {
    EXPECT_GT(beside, 0.5 * alone);
  }

  // ... and it is ended long before its 8,000 tokens, its sequence freed.
  const auto cut_deadline = Clock::now() + std::chrono::seconds(120);
  pb::LoadReport load = Load(worker->stub());
  while ((load.running() > 0 || load.kv_blocks_used() > 0) && Clock::now() < cut_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    load = Load(worker->stub());
  }
  EXPECT_EQ(load.running(), 0);
  EXPECT_EQ(load.kv_blocks_used(), 0);
  EXPECT_LT(load.generated_tokens(), kStalledTokens);
  pb::GenerateResponse event;
  int tokens = 0;
  while (stalled->Read(&event)) tokens += event.has_token();
  const grpc::Status status = stalled->Finish();
  std::printf("stalled stream: %d tokens read, %lld generated, ended with %d: %s\n", tokens,
              static_cast<long long>(load.generated_tokens()), status.error_code(),
              status.error_message().c_str());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_LT(tokens, kStalledTokens);
}

TEST_F(WorkerLimitsTest, JsonLogsAreOneObjectPerLineIncludingTheLibraries) {
  // gRPC's own debug messages and protobuf's complaint about invalid UTF-8 must come out as JSON.
  setenv("GRPC_VERBOSITY", "DEBUG", 1);
  std::unique_ptr<WorkerProcess> worker = Start({"--log-format", "json"});
  unsetenv("GRPC_VERBOSITY");
  ASSERT_NE(worker, nullptr);
  {
    grpc::ClientContext context;
    auto reader = worker->stub().Generate(&context, GreedyRequest("Hi", 2));
    pb::GenerateResponse event;
    while (reader->Read(&event)) {
    }
    EXPECT_TRUE(reader->Finish().ok());
  }
  {
    grpc::GenericStub generic(worker->channel());
    grpc::ClientContext context;
    grpc::CompletionQueue cq;
    const std::string bytes("\x12\x03\xff\n\x01", 5);  // TokenizeRequest.prompt, not UTF-8
    grpc::Slice slice(bytes);
    const grpc::ByteBuffer request(&slice, 1);
    auto call = generic.PrepareUnaryCall(&context, "/llmworker.v1.Worker/Tokenize", request, &cq);
    call->StartCall();
    grpc::ByteBuffer reply;
    grpc::Status status;
    call->Finish(&reply, &status, nullptr);
    void* tag;
    bool ok;
    ASSERT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  ASSERT_TRUE(worker->process().Signal(SIGTERM));
  ASSERT_TRUE(worker->process().WaitExit(std::chrono::seconds(30)).has_value());

  std::istringstream log(worker->process().Log());
  std::string line;
  int lines = 0, from_grpc = 0, from_protobuf = 0;
  while (std::getline(log, line)) {
    ++lines;
    nlohmann::json object;
    ASSERT_NO_THROW(object = nlohmann::json::parse(line)) << "not JSON: " << line;
    ASSERT_TRUE(object.is_object()) << line;
    EXPECT_TRUE(object.contains("time") && object.contains("level") && object.contains("event"))
        << line;
    from_grpc += object.value("source", "") == "grpc";
    from_protobuf += object.value("source", "") == "protobuf";
  }
  EXPECT_GT(lines, 5);
  EXPECT_GT(from_grpc, 0);
  EXPECT_GT(from_protobuf, 0);
}

}  // namespace
}  // namespace llmw::testing
