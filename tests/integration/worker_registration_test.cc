// The real llm-worker binary against a fake scheduler (a real gRPC server in
// this test): it registers with its capacity, heartbeats its load, registers
// again after the scheduler restarts, and deregisters on SIGTERM.
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "llmworker/v1/scheduler.grpc.pb.h"
#include "tests/integration/host_util.h"
#include "tests/integration/worker_process.h"
#include "tests/test_models.h"

namespace llmw::testing {
namespace {

namespace pb = ::llmworker::v1;
using std::chrono::milliseconds;
using std::chrono::seconds;

class FakeScheduler final : public pb::Scheduler::Service {
 public:
  grpc::Status Register(grpc::ServerContext*, const pb::RegisterRequest* request,
                        pb::RegisterResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    registrations_.push_back(*request);
    response->set_lease_id("lease-" + std::to_string(registrations_.size()));
    leases_.insert(response->lease_id());
    response->set_heartbeat_interval_ms(100);
    cv_.notify_all();
    return grpc::Status::OK;
  }
  grpc::Status Heartbeat(grpc::ServerContext*, const pb::HeartbeatRequest* request,
                         pb::HeartbeatResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    heartbeats_.push_back(*request);
    response->set_action(leases_.contains(request->lease_id())
                             ? pb::HEARTBEAT_ACTION_ACK
                             : pb::HEARTBEAT_ACTION_UNKNOWN_LEASE);
    cv_.notify_all();
    return grpc::Status::OK;
  }
  grpc::Status Deregister(grpc::ServerContext*, const pb::DeregisterRequest* request,
                          pb::DeregisterResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    deregistered_lease_ = request->lease_id();
    cv_.notify_all();
    return grpc::Status::OK;
  }

  // Waits up to `timeout` for `done()` (called under the lock) to hold.
  template <typename Pred>
  bool WaitFor(Pred done, std::chrono::milliseconds timeout = seconds(120)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done(*this); });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<pb::RegisterRequest> registrations_;
  std::vector<pb::HeartbeatRequest> heartbeats_;
  std::string deregistered_lease_;
  std::set<std::string> leases_;  // issued by this incarnation of the scheduler
};

std::unique_ptr<grpc::Server> Serve(FakeScheduler& scheduler, int port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials());
  builder.RegisterService(&scheduler);
  return builder.BuildAndStart();
}

TEST(WorkerRegistrationTest, RegistersHeartbeatsReRegistersAndDeregisters) {
  LLMW_TEST_MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf", "LLMW_SMOLLM2_GGUF");
  const int port = FreePort();
  FakeScheduler scheduler;
  std::unique_ptr<grpc::Server> server = Serve(scheduler, port);
  ASSERT_NE(server, nullptr);

  std::string error;
  auto worker =
      WorkerProcess::Start(LLMW_WORKER_BINARY, path,
                           {"--scheduler", "127.0.0.1:" + std::to_string(port), "--worker-id",
                            "test-worker", "--kv-cache-memory", "100000000", "--max-running", "7"},
                           &error);
  ASSERT_NE(worker, nullptr) << error;

  ASSERT_TRUE(scheduler.WaitFor([](FakeScheduler& s) { return s.heartbeats_.size() >= 3; }));
  {
    std::lock_guard<std::mutex> lock(scheduler.mu_);
    const pb::RegisterRequest& r = scheduler.registrations_.at(0);
    EXPECT_EQ(r.worker_id(), "test-worker");
    EXPECT_EQ(r.advertised_endpoint(), "127.0.0.1:" + std::to_string(worker->port()));
    ASSERT_EQ(r.models_size(), 1);
    EXPECT_EQ(r.models(0).name(), "smollm2");
    EXPECT_EQ(r.models(0).max_context(), 8192);
    EXPECT_EQ(r.models(0).kv_block_size(), 16);
    EXPECT_EQ(r.models(0).max_running(), 7);
    const pb::HeartbeatRequest& h = scheduler.heartbeats_.back();
    EXPECT_EQ(h.lease_id(), "lease-1");
    EXPECT_EQ(h.state(), pb::WORKER_STATE_SERVING);
    ASSERT_EQ(h.models_size(), 1);
    EXPECT_EQ(h.models(0).kv_blocks_total(), r.models(0).kv_blocks_total());
    EXPECT_EQ(h.models(0).running(), 0);
  }

  // A request's tokens show up in later heartbeats.
  auto stub = pb::Worker::NewStub(worker->channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + seconds(30));
  pb::GenerateRequest request;
  request.set_prompt("Hello");
  request.set_max_tokens(5);
  request.set_temperature(0);
  auto reader = stub->Generate(&context, request);
  pb::GenerateResponse response;
  while (reader->Read(&response)) {
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(scheduler.WaitFor([](FakeScheduler& s) {
    return !s.heartbeats_.empty() && s.heartbeats_.back().models(0).generated_tokens() >= 5;
  }));

  // The scheduler restarts (and forgets the lease): the worker registers again.
  server->Shutdown(std::chrono::system_clock::now() + milliseconds(100));
  server->Wait();
  {
    std::lock_guard<std::mutex> lock(scheduler.mu_);
    scheduler.leases_.clear();
  }
  server = Serve(scheduler, port);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(
      scheduler.WaitFor([](FakeScheduler& s) { return s.registrations_.size() >= 2; }, seconds(60)))
      << worker->process().Log();
  // Heartbeats on the new lease show that the worker holds it (a SIGTERM while
  // the Register answer is still in flight would leave nothing to deregister).
  EXPECT_TRUE(scheduler.WaitFor([](FakeScheduler& s) {
    return !s.heartbeats_.empty() && s.leases_.contains(s.heartbeats_.back().lease_id());
  })) << worker->process().Log();

  // SIGTERM: the worker deregisters its current lease and exits 0.
  ASSERT_TRUE(worker->process().Signal(SIGTERM));
  EXPECT_TRUE(scheduler.WaitFor([](FakeScheduler& s) { return !s.deregistered_lease_.empty(); }));
  const std::optional<int> status = worker->process().WaitExit(seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << worker->process().Log();
  std::lock_guard<std::mutex> lock(scheduler.mu_);
  EXPECT_EQ(scheduler.deregistered_lease_,
            "lease-" + std::to_string(scheduler.registrations_.size()));
}

}  // namespace
}  // namespace llmw::testing
