// The worker's client of llmworker.v1.Scheduler, on its own thread: registers (retrying with
// backoff and jitter while the worker serves on), heartbeats the load at the interval the scheduler
// asked for, registers again when the scheduler no longer knows the lease, passes a DRAIN request
// on, and deregisters when stopped. A worker without a scheduler simply makes no Registrar.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/security/credentials.h"
#include "llmworker/v1/scheduler.grpc.pb.h"

namespace llmw {

struct RegistrarOptions {
  // gRPC target of the scheduler, e.g. "scheduler:50052" or "dns:///scheduler:50052".
  std::string scheduler_address;
  // How to reach it; null: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string worker_id;
  // Where clients reach this worker's Worker service.
  std::string advertised_endpoint;
  std::string version;
  std::map<std::string, std::string> labels;
  std::vector<llmworker::v1::ModelCapacity> models;

  // Waits between failed attempts: full jitter under a ceiling that starts at `initial_backoff`
  // and doubles up to `max_backoff`. Also used as the channel's reconnect backoff.
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  // Deadline of each Register and Heartbeat call.
  std::chrono::milliseconds rpc_timeout{5000};
  // Used when RegisterResponse.heartbeat_interval_ms is 0.
  std::chrono::milliseconds default_heartbeat_interval{5000};
  // After this many heartbeats in a row fail, register again.
  int heartbeat_failures_before_register = 3;
};

class Registrar {
 public:
  // Fills the state and per-model load reports of a heartbeat (lease and sequence number are set
  // by the Registrar). Called on the Registrar's thread.
  using FillLoad = std::function<void(llmworker::v1::HeartbeatRequest*)>;
  // One line, no trailing newline. The default writes "registration: <line>" to stderr.
  using Logger = std::function<void(const std::string&)>;

  // `on_drain` (may be empty) runs once, on the Registrar's thread, when a heartbeat is answered
  // with DRAIN. It must not call Stop(): it should only tell the worker to drain.
  Registrar(RegistrarOptions options, FillLoad fill_load, std::function<void()> on_drain,
            Logger log = nullptr);
  ~Registrar();  // Stop()
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  // Checks the options and starts the thread. INVALID_ARGUMENT for a missing scheduler address,
  // worker id, endpoint or model; FAILED_PRECONDITION when already started.
  absl::Status Start();

  // Stops the thread at once (cancelling a call in flight), then, when registered, sends
  // Deregister(lease, reason) with `deregister_timeout` as its deadline; a failure is only
  // logged. Later calls do nothing.
  void Stop(std::chrono::milliseconds deregister_timeout = std::chrono::seconds(2),
            const std::string& reason = "shutdown");

  bool registered() const;
  // The current lease; empty when not registered.
  std::string lease_id() const;
  // Heartbeats answered by the scheduler, under every lease.
  int64_t heartbeats_sent() const { return heartbeats_sent_.load(); }
  // Successful Register calls.
  int64_t registrations() const { return registrations_.load(); }

 private:
  void Run();
  enum class HeartbeatResult { kOk, kFailed, kUnknownLease };
  HeartbeatResult Heartbeat(uint64_t sequence_number);
  // Sleeps until `until` or Stop(); false when stopping.
  bool WaitUntil(std::chrono::steady_clock::time_point until);
  bool Stopping() const;
  // Sets the deadline, registers the context so that Stop() can cancel it; false when stopping.
  bool BeginCall(grpc::ClientContext* context);
  void EndCall();
  void ClearLease();

  const RegistrarOptions options_;
  const FillLoad fill_load_;
  const std::function<void()> on_drain_;
  const Logger log_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<llmworker::v1::Scheduler::Stub> stub_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;                            // guarded by mu_
  bool started_ = false;                             // guarded by mu_
  bool stopped_ = false;                             // guarded by mu_
  std::string lease_id_;                             // guarded by mu_
  grpc::ClientContext* in_flight_ = nullptr;         // guarded by mu_
  std::chrono::milliseconds heartbeat_interval_{0};  // the Registrar thread's own
  bool drain_requested_ = false;                     // the Registrar thread's own
  std::atomic<int64_t> heartbeats_sent_{0};
  std::atomic<int64_t> registrations_{0};
  std::thread thread_;
};

}  // namespace llmw
