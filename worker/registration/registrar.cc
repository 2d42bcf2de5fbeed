// The scheduler client (see registrar.h).
#include "worker/registration/registrar.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "worker/registration/backoff.h"

namespace llmw {

namespace pb = ::llmworker::v1;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

// "UNAVAILABLE: failed to connect" (gRPC and absl share the code numbering).
std::string Describe(const grpc::Status& status) {
  const std::string name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  return status.error_message().empty() ? name : absl::StrCat(name, ": ", status.error_message());
}

void LogToStderr(const std::string& line) {
  std::fprintf(stderr, "registration: %s\n", line.c_str());
}

}  // namespace

Registrar::Registrar(RegistrarOptions options, FillLoad fill_load, std::function<void()> on_drain,
                     Logger log)
    : options_(std::move(options)),
      fill_load_(std::move(fill_load)),
      on_drain_(std::move(on_drain)),
      log_(log ? std::move(log) : Logger(LogToStderr)) {}

Registrar::~Registrar() { Stop(); }

absl::Status Registrar::Start() {
  if (options_.scheduler_address.empty()) return absl::InvalidArgumentError("no scheduler address");
  if (options_.worker_id.empty()) return absl::InvalidArgumentError("no worker id");
  if (options_.advertised_endpoint.empty())
    return absl::InvalidArgumentError("no advertised endpoint");
  if (options_.models.empty()) return absl::InvalidArgumentError("no model to register");
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return absl::FailedPreconditionError("registrar already started");
  started_ = true;

  // gRPC's own reconnect backoff (1 s doubling to 120 s by default) would otherwise hold a
  // restarted scheduler out of reach longer than our retries expect.
  grpc::ChannelArguments args;
  const int initial = static_cast<int>(std::max<int64_t>(options_.initial_backoff.count(), 1));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, initial);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, initial);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(std::max<int64_t>(options_.max_backoff.count(), initial)));
  channel_ = grpc::CreateCustomChannel(
      options_.scheduler_address,
      options_.credentials ? options_.credentials : grpc::InsecureChannelCredentials(), args);
  stub_ = pb::Scheduler::NewStub(channel_);
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void Registrar::Stop(milliseconds deregister_timeout, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    stopping_ = true;
    if (in_flight_ != nullptr) in_flight_->TryCancel();
  }
  wake_.notify_all();
  thread_.join();

  const std::string lease = lease_id();
  if (lease.empty()) return;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deregister_timeout);
  pb::DeregisterRequest request;
  request.set_lease_id(lease);
  request.set_reason(reason);
  pb::DeregisterResponse response;
  const grpc::Status status = stub_->Deregister(&context, request, &response);
  if (status.ok()) {
    log_(absl::StrCat("deregistered lease ", lease, " (", reason, ")"));
  } else {
    log_(absl::StrCat("deregister of lease ", lease, " failed (", Describe(status), ")"));
  }
  ClearLease();
}

bool Registrar::registered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !lease_id_.empty();
}

std::string Registrar::lease_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lease_id_;
}

void Registrar::ClearLease() {
  std::lock_guard<std::mutex> lock(mu_);
  lease_id_.clear();
}

bool Registrar::WaitUntil(Clock::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
  wake_.wait_until(lock, until, [this] { return stopping_; });
  return !stopping_;
}

bool Registrar::Stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

bool Registrar::BeginCall(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + options_.rpc_timeout);
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  in_flight_ = context;
  return true;
}

void Registrar::EndCall() {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_ = nullptr;
}

void Registrar::Run() {
  Backoff backoff(options_.initial_backoff, options_.max_backoff);
  int attempt = 0;
  while (true) {
    // Register until it works.
    grpc::ClientContext context;
    if (!BeginCall(&context)) return;
    pb::RegisterRequest request;
    request.set_worker_id(options_.worker_id);
    request.set_advertised_endpoint(options_.advertised_endpoint);
    request.set_version(options_.version);
    for (const auto& [key, value] : options_.labels) (*request.mutable_labels())[key] = value;
    for (const pb::ModelCapacity& model : options_.models) *request.add_models() = model;
    pb::RegisterResponse response;
    const grpc::Status status = stub_->Register(&context, request, &response);
    EndCall();
    ++attempt;
    if (!status.ok() || response.lease_id().empty()) {
      if (Stopping()) return;  // cancelled by Stop()
      const milliseconds wait = backoff.Next();
      log_(absl::StrCat("register with ", options_.scheduler_address, " failed (attempt ", attempt,
                        ": ", status.ok() ? std::string("empty lease") : Describe(status),
                        "); retrying in ", wait.count(), " ms"));
      if (!WaitUntil(Clock::now() + wait)) return;
      continue;
    }
    heartbeat_interval_ = response.heartbeat_interval_ms() > 0
                              ? milliseconds(response.heartbeat_interval_ms())
                              : options_.default_heartbeat_interval;
    {
      std::lock_guard<std::mutex> lock(mu_);
      lease_id_ = response.lease_id();
    }
    ++registrations_;
    attempt = 0;
    backoff.Reset();
    log_(absl::StrCat("registered with ", options_.scheduler_address, " as ", options_.worker_id,
                      ": lease ", response.lease_id(), ", heartbeat every ",
                      heartbeat_interval_.count(), " ms"));

    // Heartbeat under this lease until the scheduler forgets it or stays unreachable.
    uint64_t sequence_number = 0;
    int failures = 0;
    Clock::time_point next = Clock::now() + heartbeat_interval_;
    while (true) {
      if (!WaitUntil(next)) return;
      const Clock::time_point sent_at = Clock::now();
      const HeartbeatResult result = Heartbeat(++sequence_number);
      if (Stopping()) return;
      if (result == HeartbeatResult::kUnknownLease) {
        log_(absl::StrCat("scheduler does not know lease ", response.lease_id(),
                          "; registering again"));
        ClearLease();
        break;
      }
      if (result == HeartbeatResult::kOk) {
        failures = 0;
        backoff.Reset();
        next = sent_at + heartbeat_interval_;
        continue;
      }
      if (++failures >= options_.heartbeat_failures_before_register) {
        log_(absl::StrCat(failures, " heartbeats in a row failed; registering again"));
        ClearLease();
        break;
      }
      next = sent_at + std::max(heartbeat_interval_, backoff.Next());
    }
  }
}

Registrar::HeartbeatResult Registrar::Heartbeat(uint64_t sequence_number) {
  pb::HeartbeatRequest request;
  if (fill_load_) fill_load_(&request);
  request.set_lease_id(lease_id());
  request.set_sequence_number(sequence_number);
  grpc::ClientContext context;
  if (!BeginCall(&context)) return HeartbeatResult::kFailed;
  pb::HeartbeatResponse response;
  const grpc::Status status = stub_->Heartbeat(&context, request, &response);
  EndCall();
  if (!status.ok()) {
    if (Stopping()) return HeartbeatResult::kFailed;
    log_(absl::StrCat("heartbeat ", sequence_number, " to ", options_.scheduler_address,
                      " failed (", Describe(status), ")"));
    return HeartbeatResult::kFailed;
  }
  ++heartbeats_sent_;
  switch (response.action()) {
    case pb::HEARTBEAT_ACTION_UNKNOWN_LEASE:
      return HeartbeatResult::kUnknownLease;
    case pb::HEARTBEAT_ACTION_DRAIN:
      if (!drain_requested_) {
        drain_requested_ = true;
        log_("scheduler asked this worker to drain");
        if (on_drain_) on_drain_();
      }
      return HeartbeatResult::kOk;
    default:  // ACK, UNSPECIFIED and values added later
      return HeartbeatResult::kOk;
  }
}

}  // namespace llmw
