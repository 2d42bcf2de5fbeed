// The real llm-worker binary run by a test: started on free loopback ports (parsed from its
// "serving on port N" / "metrics on port M" lines), with a gRPC stub to talk to it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "llmworker/v1/worker.grpc.pb.h"
#include "tests/integration/child_process.h"

namespace llmw::testing {

class WorkerProcess {
 public:
  // Starts `binary` serving `model_path` as "smollm2" with `extra_args`, and waits up to 60 s for
  // it to serve; null (with `*error` set, the worker's log included) on failure.
  static std::unique_ptr<WorkerProcess> Start(const std::string& binary,
                                              const std::string& model_path,
                                              const std::vector<std::string>& extra_args,
                                              std::string* error) {
    std::vector<std::string> args = {"--model",     "smollm2=" + model_path, "--listen",
                                     "127.0.0.1:0", "--metrics-listen",      "127.0.0.1:0"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::unique_ptr<ChildProcess> child = ChildProcess::Start(binary, args, error);
    if (child == nullptr) return nullptr;
    const auto timeout = std::chrono::seconds(60);
    const std::optional<std::string> port = child->WaitForLog("serving on port ([0-9]+)", timeout);
    const std::optional<std::string> metrics_port =
        child->WaitForLog("metrics on port ([0-9]+)", timeout);
    if (!port || !metrics_port) {
      *error = "llm-worker did not start; its log:\n" + child->Log();
      return nullptr;
    }
    auto worker = std::unique_ptr<WorkerProcess>(new WorkerProcess(std::move(child)));
    worker->port_ = std::stoi(*port);
    worker->metrics_port_ = std::stoi(*metrics_port);
    worker->channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(worker->port_),
                                           grpc::InsecureChannelCredentials());
    worker->stub_ = llmworker::v1::Worker::NewStub(worker->channel_);
    return worker;
  }

  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  llmworker::v1::Worker::Stub& stub() { return *stub_; }
  ChildProcess& process() { return *child_; }

 private:
  explicit WorkerProcess(std::unique_ptr<ChildProcess> child) : child_(std::move(child)) {}

  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
  int metrics_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<llmworker::v1::Worker::Stub> stub_;
};

// A greedy request for `prompt` that generates exactly `max_tokens` (past EOS).
inline llmworker::v1::GenerateRequest GreedyRequest(const std::string& prompt, int max_tokens) {
  llmworker::v1::GenerateRequest request;
  request.set_prompt(prompt);
  request.set_temperature(0);
  request.set_ignore_eos(true);
  request.set_max_tokens(max_tokens);
  return request;
}

}  // namespace llmw::testing
