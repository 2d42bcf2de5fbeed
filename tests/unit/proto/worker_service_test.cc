// Runs a toy Worker service in-process and calls it over a real gRPC channel on 127.0.0.1, proving
// that the generated stubs, gRPC and protobuf link and work together.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "llmworker/v1/worker.grpc.pb.h"

namespace llmw {
namespace {

namespace v1 = ::llmworker::v1;

// Streams one Token event per character of the prompt.
class EchoWorker final : public v1::Worker::Service {
 public:
  grpc::Status Generate(grpc::ServerContext*, const v1::GenerateRequest* request,
                        grpc::ServerWriter<v1::GenerateResponse>* writer) override {
    if (request->input_case() != v1::GenerateRequest::kPrompt) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "only prompt input is supported");
    }
    const std::string& prompt = request->prompt();
    v1::GenerateResponse event;
    v1::Started* started = event.mutable_started();
    started->set_request_id(request->request_id().empty() ? "generated-id" : request->request_id());
    started->set_model(request->model());
    started->set_prompt_tokens(static_cast<int64_t>(prompt.size()));
    if (!writer->Write(event)) return grpc::Status::CANCELLED;

    const int n = std::min<int>(request->has_max_tokens() ? request->max_tokens() : 256,
                                static_cast<int>(prompt.size()));
    for (int i = 0; i < n; ++i) {
      event.Clear();
      event.mutable_token()->set_id(prompt[i]);
      event.mutable_token()->set_text(std::string(1, prompt[i]));
      if (!writer->Write(event)) return grpc::Status::CANCELLED;
    }

    event.Clear();
    v1::Finished* finished = event.mutable_finished();
    finished->set_reason(n < static_cast<int>(prompt.size()) ? v1::FINISH_REASON_LENGTH
                                                             : v1::FINISH_REASON_STOP);
    finished->mutable_usage()->set_prompt_tokens(static_cast<int64_t>(prompt.size()));
    finished->mutable_usage()->set_completion_tokens(n);
    finished->mutable_timings()->set_total_seconds(0.5);
    writer->Write(event);
    return grpc::Status::OK;
  }

  grpc::Status Abort(grpc::ServerContext*, const v1::AbortRequest* request,
                     v1::AbortResponse* response) override {
    response->set_found(request->request_id() == "live");
    return grpc::Status::OK;
  }
};

class WorkerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    stub_ = v1::Worker::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                                    grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  std::vector<v1::GenerateResponse> Generate(const v1::GenerateRequest& request,
                                             grpc::Status* status) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>> reader =
        stub_->Generate(&context, request);
    std::vector<v1::GenerateResponse> events;
    v1::GenerateResponse event;
    while (reader->Read(&event)) events.push_back(event);
    *status = reader->Finish();
    return events;
  }

  EchoWorker service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Worker::Stub> stub_;
};

TEST_F(WorkerServiceTest, GenerateStreamsStartedTokensFinished) {
  v1::GenerateRequest request;
  request.set_model("echo");
  request.set_prompt("abc");
  grpc::Status status;
  const std::vector<v1::GenerateResponse> events = Generate(request, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(events.size(), 5u);

  ASSERT_EQ(events[0].event_case(), v1::GenerateResponse::kStarted);
  EXPECT_EQ(events[0].started().request_id(), "generated-id");
  EXPECT_EQ(events[0].started().model(), "echo");
  EXPECT_EQ(events[0].started().prompt_tokens(), 3);
  std::string text;
  for (size_t i = 1; i <= 3; ++i) {
    ASSERT_EQ(events[i].event_case(), v1::GenerateResponse::kToken);
    text += events[i].token().text();
  }
  EXPECT_EQ(text, "abc");
  ASSERT_EQ(events[4].event_case(), v1::GenerateResponse::kFinished);
  EXPECT_EQ(events[4].finished().reason(), v1::FINISH_REASON_STOP);
  EXPECT_EQ(events[4].finished().usage().completion_tokens(), 3);
  EXPECT_DOUBLE_EQ(events[4].finished().timings().total_seconds(), 0.5);
}

TEST_F(WorkerServiceTest, GenerateHonoursMaxTokens) {
  v1::GenerateRequest request;
  request.set_request_id("mine");
  request.set_prompt("abcdef");
  request.set_max_tokens(2);
  grpc::Status status;
  const std::vector<v1::GenerateResponse> events = Generate(request, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].started().request_id(), "mine");
  EXPECT_EQ(events.back().finished().reason(), v1::FINISH_REASON_LENGTH);
}

TEST_F(WorkerServiceTest, ErrorStatusEndsTheStreamWithoutEvents) {
  v1::GenerateRequest request;
  request.mutable_token_ids()->add_ids(1);
  grpc::Status status;
  const std::vector<v1::GenerateResponse> events = Generate(request, &status);
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "only prompt input is supported");
}

TEST_F(WorkerServiceTest, UnaryCallsWork) {
  grpc::ClientContext context;
  v1::AbortRequest request;
  request.set_request_id("live");
  v1::AbortResponse response;
  ASSERT_TRUE(stub_->Abort(&context, request, &response).ok());
  EXPECT_TRUE(response.found());

  // Methods the service does not override answer UNIMPLEMENTED.
  grpc::ClientContext list_context;
  v1::ListModelsResponse models;
  EXPECT_EQ(stub_->ListModels(&list_context, v1::ListModelsRequest(), &models).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace llmw
