// Registrar against a fake scheduler: a real gRPC server on 127.0.0.1 that records every call, can
// answer UNKNOWN_LEASE or DRAIN, fail heartbeats, hold a Register call, and be stopped and
// started again on the same port (a scheduler restart) or not exist yet.
#include "worker/registration/registrar.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "llmworker/v1/scheduler.grpc.pb.h"

namespace llmw {
namespace {

namespace v1 = ::llmworker::v1;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

class FakeScheduler final : public v1::Scheduler::Service {
 public:
  struct Beat {
    v1::HeartbeatRequest request;
    Clock::time_point at;
  };

  grpc::Status Register(grpc::ServerContext* context, const v1::RegisterRequest* request,
                        v1::RegisterResponse* response) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++register_attempts_;
    changed_.notify_all();
    changed_.wait_for(lock, std::chrono::seconds(5),
                      [&] { return !hold_register_ || context->IsCancelled(); });
    registers_.push_back(*request);
    const std::string lease = "lease-" + std::to_string(++next_lease_);
    leases_.insert(lease);
    response->set_lease_id(lease);
    response->set_heartbeat_interval_ms(interval_ms_);
    return grpc::Status::OK;
  }

  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    beats_.push_back({*request, Clock::now()});
    if (fail_heartbeats_ > 0) {
      --fail_heartbeats_;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "busy");
    }
    if (leases_.count(request->lease_id()) == 0) {
      response->set_action(v1::HEARTBEAT_ACTION_UNKNOWN_LEASE);
    } else {
      response->set_action(action_);
    }
    return grpc::Status::OK;
  }

  grpc::Status Deregister(grpc::ServerContext*, const v1::DeregisterRequest* request,
                          v1::DeregisterResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    deregisters_.push_back(*request);
    leases_.erase(request->lease_id());
    return grpc::Status::OK;
  }

  void set_interval_ms(uint32_t ms) {
    std::lock_guard<std::mutex> lock(mu_);
    interval_ms_ = ms;
  }
  void set_action(v1::HeartbeatAction action) {
    std::lock_guard<std::mutex> lock(mu_);
    action_ = action;
  }
  void FailHeartbeats(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_heartbeats_ = n;
  }
  // Forgets every lease, as a restarted scheduler would.
  void Forget() {
    std::lock_guard<std::mutex> lock(mu_);
    leases_.clear();
  }
  void HoldRegister(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_register_ = hold;
    changed_.notify_all();
  }

  int register_attempts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return register_attempts_;
  }
  std::vector<v1::RegisterRequest> registers() const {
    std::lock_guard<std::mutex> lock(mu_);
    return registers_;
  }
  std::vector<Beat> beats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return beats_;
  }
  // Heartbeats that carried `lease`.
  std::vector<Beat> beats(const std::string& lease) const {
    std::vector<Beat> out;
    for (const Beat& b : beats())
      if (b.request.lease_id() == lease) out.push_back(b);
    return out;
  }
  std::vector<v1::DeregisterRequest> deregisters() const {
    std::lock_guard<std::mutex> lock(mu_);
    return deregisters_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  uint32_t interval_ms_ = 50;
  v1::HeartbeatAction action_ = v1::HEARTBEAT_ACTION_ACK;
  int fail_heartbeats_ = 0;
  bool hold_register_ = false;
  int register_attempts_ = 0;
  int next_lease_ = 0;
  std::set<std::string> leases_;
  std::vector<v1::RegisterRequest> registers_;
  std::vector<Beat> beats_;
  std::vector<v1::DeregisterRequest> deregisters_;
};

// Serves a FakeScheduler; can stop and start again on the same port.
class SchedulerServer {
 public:
  explicit SchedulerServer(FakeScheduler* service) : service_(service) {}
  ~SchedulerServer() { Stop(); }

  // Port 0 picks a free one the first time.
  void Start(int port = 0) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void Stop() {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now() + milliseconds(200));
    server_->Wait();
    server_.reset();
  }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  FakeScheduler* service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

template <typename Condition>
bool WaitFor(Condition condition, milliseconds timeout = milliseconds(3000)) {
  const Clock::time_point end = Clock::now() + timeout;
  while (Clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return condition();
}

class LogLines {
 public:
  Registrar::Logger logger() {
    return [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(line);
    };
  }
  int Count(const std::string& part) const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(std::count_if(lines_.begin(), lines_.end(), [&](const std::string& l) {
      return l.find(part) != std::string::npos;
    }));
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

RegistrarOptions TestOptions(const std::string& address) {
  RegistrarOptions o;
  o.scheduler_address = address;
  o.worker_id = "worker-7";
  o.advertised_endpoint = "worker-7.pods:50051";
  o.version = "0.1.0";
  o.labels = {{"zone", "eu-west-1a"}, {"gpu", "none"}};
  v1::ModelCapacity model;
  model.set_name("toy");
  model.set_max_context(2048);
  model.set_kv_blocks_total(128);
  model.set_kv_block_size(16);
  model.set_max_running(8);
  model.set_max_waiting(32);
  o.models.push_back(model);
  o.initial_backoff = milliseconds(20);
  o.max_backoff = milliseconds(200);
  o.rpc_timeout = milliseconds(1000);
  o.default_heartbeat_interval = milliseconds(40);
  o.heartbeat_failures_before_register = 3;
  return o;
}

class RegistrarTest : public ::testing::Test {
 protected:
  void SetUp() override { server_.Start(); }

  std::unique_ptr<Registrar> MakeRegistrar(RegistrarOptions options) {
    return std::make_unique<Registrar>(
        std::move(options),
        [this](v1::HeartbeatRequest* request) {
          request->set_state(v1::WORKER_STATE_SERVING);
          v1::LoadReport* report = request->add_models();
          report->set_model("toy");
          report->set_running(3);
          report->set_waiting(4);
          report->set_kv_blocks_used(5);
          report->set_kv_blocks_total(128);
          report->set_generated_tokens(++load_calls_);
          // The Registrar sets these itself.
          request->set_lease_id("from-callback");
          request->set_sequence_number(999);
        },
        [this] { ++drains_; }, log_.logger());
  }

  FakeScheduler scheduler_;
  SchedulerServer server_{&scheduler_};
  LogLines log_;
  std::atomic<int64_t> load_calls_{0};
  std::atomic<int> drains_{0};
};

TEST_F(RegistrarTest, RegistersThenHeartbeatsAtTheIntervalWithTheLoad) {
  auto registrar = MakeRegistrar(TestOptions(server_.address()));
  ASSERT_TRUE(registrar->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return registrar->heartbeats_sent() >= 6; }));

  const auto registers = scheduler_.registers();
  ASSERT_EQ(registers.size(), 1u);
  const v1::RegisterRequest& r = registers[0];
  EXPECT_EQ(r.worker_id(), "worker-7");
  EXPECT_EQ(r.advertised_endpoint(), "worker-7.pods:50051");
  EXPECT_EQ(r.version(), "0.1.0");
  EXPECT_EQ(r.labels().at("zone"), "eu-west-1a");
  EXPECT_EQ(r.labels().at("gpu"), "none");
  ASSERT_EQ(r.models_size(), 1);
  EXPECT_EQ(r.models(0).name(), "toy");
  EXPECT_EQ(r.models(0).max_context(), 2048);
  EXPECT_EQ(r.models(0).kv_blocks_total(), 128);
  EXPECT_EQ(r.models(0).kv_block_size(), 16);
  EXPECT_EQ(r.models(0).max_running(), 8);
  EXPECT_EQ(r.models(0).max_waiting(), 32);
  EXPECT_TRUE(registrar->registered());
  EXPECT_EQ(registrar->lease_id(), "lease-1");
  EXPECT_EQ(registrar->registrations(), 1);

  const auto beats = scheduler_.beats();
  ASSERT_GE(beats.size(), 6u);
  for (size_t i = 0; i < beats.size(); ++i) {
    const v1::HeartbeatRequest& b = beats[i].request;
    EXPECT_EQ(b.lease_id(), "lease-1");
    EXPECT_EQ(b.sequence_number(), i + 1);
    EXPECT_EQ(b.state(), v1::WORKER_STATE_SERVING);
    ASSERT_EQ(b.models_size(), 1);
    EXPECT_EQ(b.models(0).model(), "toy");
    EXPECT_EQ(b.models(0).running(), 3);
    EXPECT_EQ(b.models(0).waiting(), 4);
    EXPECT_EQ(b.models(0).kv_blocks_used(), 5);
    EXPECT_EQ(b.models(0).generated_tokens(), static_cast<int64_t>(i + 1));
  }
  // The scheduler asked for 50 ms.
  const double mean_gap_ms =
      std::chrono::duration<double, std::milli>(beats.back().at - beats.front().at).count() /
      static_cast<double>(beats.size() - 1);
  EXPECT_GE(mean_gap_ms, 40.0);
  EXPECT_LE(mean_gap_ms, 200.0);
}

TEST_F(RegistrarTest, StopDeregistersTheLeaseAndEndsHeartbeats) {
  auto registrar = MakeRegistrar(TestOptions(server_.address()));
  ASSERT_TRUE(registrar->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return registrar->heartbeats_sent() >= 2; }));
  const std::string lease = registrar->lease_id();
  registrar->Stop(milliseconds(1000), "drained");
  EXPECT_FALSE(registrar->registered());
  const auto deregisters = scheduler_.deregisters();
  ASSERT_EQ(deregisters.size(), 1u);
  EXPECT_EQ(deregisters[0].lease_id(), lease);
  EXPECT_EQ(deregisters[0].reason(), "drained");

  const size_t beats = scheduler_.beats().size();
  std::this_thread::sleep_for(milliseconds(120));
  EXPECT_EQ(scheduler_.beats().size(), beats);
  registrar->Stop();  // a second Stop does nothing
  registrar.reset();  // nor does the destructor
  EXPECT_EQ(scheduler_.deregisters().size(), 1u);
}

TEST_F(RegistrarTest, UnknownLeaseRegistersAgainAndRestartsTheSequence) {
  auto registrar = MakeRegistrar(TestOptions(server_.address()));
  ASSERT_TRUE(registrar->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return registrar->heartbeats_sent() >= 2; }));
  scheduler_.Forget();
  ASSERT_TRUE(WaitFor([&] { return scheduler_.beats("lease-2").size() >= 3; }));
  EXPECT_EQ(registrar->registrations(), 2);
  EXPECT_EQ(registrar->lease_id(), "lease-2");
  EXPECT_EQ(scheduler_.registers().size(), 2u);
  const auto beats = scheduler_.beats("lease-2");
  for (size_t i = 0; i < beats.size(); ++i) EXPECT_EQ(beats[i].request.sequence_number(), i + 1);
  EXPECT_EQ(log_.Count("does not know lease lease-1"), 1);
}

TEST_F(RegistrarTest, DrainCallsOnDrainOnceAndHeartbeatsGoOn) {
  auto registrar = MakeRegistrar(TestOptions(server_.address()));
  ASSERT_TRUE(registrar->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return registrar->heartbeats_sent() >= 1; }));
  EXPECT_EQ(drains_.load(), 0);
  scheduler_.set_action(v1::HEARTBEAT_ACTION_DRAIN);
  ASSERT_TRUE(WaitFor([&] { return drains_.load() >= 1; }));
  const int64_t sent = registrar->heartbeats_sent();
  ASSERT_TRUE(WaitFor([&] { return registrar->heartbeats_sent() >= sent + 3; }));
  EXPECT_EQ(drains_.load(), 1);
  EXPECT_EQ(registrar->registrations(), 1);
}

TEST_F(RegistrarTest, SchedulerRestartOnTheSamePortLeadsToANewRegistration) {
  auto registrar = MakeRegistrar(TestOptions(server_.address()));
  ASSERT_TRUE(registrar->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return registrar->heartbeats_sent() >= 2; }));
  const int port = server_.port();
  server_.Stop();
  scheduler_.Forget();
  // Down for a few heartbeat intervals: the registrar keeps trying.
  std::this_thread::sleep_for(milliseconds(150));
  server_.Start(port);
  ASSERT_EQ(server_.port(), port);
  ASSERT_TRUE(WaitFor([&] {
    const std::string lease = registrar->lease_id();
    return lease != "lease-1" && !lease.empty() && scheduler_.beats(lease).size() >= 3;
  }));
  EXPECT_EQ(registrar->registrations(), 2);
  EXPECT_EQ(scheduler_.registers().size(), 2u);
  EXPECT_GE(log_.Count("failed"), 1);
}

TEST_F(RegistrarTest, RetriesUntilTheSchedulerComesUp) {
  const int port = server_.port();
  server_.Stop();
  auto registrar = MakeRegistrar(TestOptions("127.0.0.1:" + std::to_string(port)));
  ASSERT_TRUE(registrar->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return log_.Count("register with") >= 3; }));
  EXPECT_FALSE(registrar->registered());
  EXPECT_EQ(registrar->heartbeats_sent(), 0);
  EXPECT_GE(log_.Count("retrying in"), 3);
  EXPECT_GE(log_.Count("(attempt 1: UNAVAILABLE"), 1);

  server_.Start(port);
  ASSERT_TRUE(WaitFor([&] { return registrar->heartbeats_sent() >= 2; }));
  EXPECT_EQ(registrar->registrations(), 1);
  EXPECT_EQ(scheduler_.registers().size(), 1u);
}

TEST_F(RegistrarTest, OneFailedHeartbeatKeepsTheLeaseSeveralRegisterAgain) {
  auto registrar = MakeRegistrar(TestOptions(server_.address()));
  ASSERT_TRUE(registrar->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return registrar->heartbeats_sent() >= 1; }));
  scheduler_.FailHeartbeats(1);
  ASSERT_TRUE(WaitFor([&] { return registrar->heartbeats_sent() >= 4; }));
  EXPECT_EQ(registrar->registrations(), 1);
  EXPECT_EQ(log_.Count(" failed ("), 1);

  scheduler_.FailHeartbeats(3);
  ASSERT_TRUE(WaitFor([&] { return registrar->registrations() == 2; }));
  EXPECT_EQ(log_.Count("3 heartbeats in a row failed"), 1);
  ASSERT_TRUE(WaitFor([&] { return scheduler_.beats("lease-2").size() >= 1; }));
}

TEST_F(RegistrarTest, ZeroIntervalFallsBackToTheConfiguredOne) {
  scheduler_.set_interval_ms(0);
  auto registrar = MakeRegistrar(TestOptions(server_.address()));
  ASSERT_TRUE(registrar->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return registrar->heartbeats_sent() >= 4; }));
  EXPECT_EQ(log_.Count("heartbeat every 40 ms"), 1);
}

TEST_F(RegistrarTest, StopIsPromptDuringABackoffWaitAndSendsNoDeregister) {
  const int port = server_.port();
  server_.Stop();
  RegistrarOptions options = TestOptions("127.0.0.1:" + std::to_string(port));
  options.initial_backoff = milliseconds(20000);
  options.max_backoff = milliseconds(20000);
  auto registrar = MakeRegistrar(options);
  ASSERT_TRUE(registrar->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return log_.Count("register with") >= 1; }));
  const Clock::time_point start = Clock::now();
  registrar->Stop();
  EXPECT_LT(Clock::now() - start, milliseconds(500));
  EXPECT_EQ(log_.Count("deregister"), 0);
}

TEST_F(RegistrarTest, StopCancelsACallInFlight) {
  scheduler_.HoldRegister(true);
  RegistrarOptions options = TestOptions(server_.address());
  options.rpc_timeout = milliseconds(10000);
  auto registrar = MakeRegistrar(options);
  ASSERT_TRUE(registrar->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return scheduler_.register_attempts() >= 1; }));
  const Clock::time_point start = Clock::now();
  registrar->Stop();
  EXPECT_LT(Clock::now() - start, milliseconds(500));
  EXPECT_FALSE(registrar->registered());
  scheduler_.HoldRegister(false);
}

TEST_F(RegistrarTest, StartChecksTheOptions) {
  RegistrarOptions options = TestOptions(server_.address());
  options.worker_id.clear();
  EXPECT_EQ(MakeRegistrar(options)->Start().code(), absl::StatusCode::kInvalidArgument);
  options = TestOptions(server_.address());
  options.advertised_endpoint.clear();
  EXPECT_EQ(MakeRegistrar(options)->Start().code(), absl::StatusCode::kInvalidArgument);
  options = TestOptions(server_.address());
  options.models.clear();
  EXPECT_EQ(MakeRegistrar(options)->Start().code(), absl::StatusCode::kInvalidArgument);
  options = TestOptions("");
  EXPECT_EQ(MakeRegistrar(options)->Start().code(), absl::StatusCode::kInvalidArgument);

  auto registrar = MakeRegistrar(TestOptions(server_.address()));
  ASSERT_TRUE(registrar->Start().ok());
  EXPECT_EQ(registrar->Start().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace llmw
