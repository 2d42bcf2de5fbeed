// A streaming Generate call against llm-worker.
#include "tools/llmw/remote_generate.h"

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "llmworker/v1/worker.grpc.pb.h"

namespace llmw::cli {
namespace pb = ::llmworker::v1;

absl::Status GenerateRemote(const RemoteGenerateOptions& o) {
  auto channel = grpc::CreateChannel(o.server, grpc::InsecureChannelCredentials());
  auto stub = pb::Worker::NewStub(channel);
  pb::GenerateRequest request;
  request.set_model(o.model);
  if (o.chat) {
    pb::ChatMessage* m = request.mutable_chat()->add_messages();
    m->set_role("user");
    m->set_content(o.prompt);
  } else {
    request.set_prompt(o.prompt);
  }
  request.set_max_tokens(static_cast<int32_t>(o.max_tokens));
  request.set_temperature(o.sampling.temperature);
  request.set_top_k(o.sampling.top_k);
  request.set_top_p(o.sampling.top_p);
  if (o.sampling.seed) request.set_seed(*o.sampling.seed);

  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<pb::GenerateResponse>> reader =
      stub->Generate(&context, request);
  pb::GenerateResponse response;
  while (reader->Read(&response)) {
    if (response.has_token()) {
      std::cout << response.token().text() << std::flush;
    } else if (response.has_finished()) {
      const pb::Finished& f = response.finished();
      std::cout << f.text() << std::endl;
      std::fprintf(stderr,
                   "llmw: %s (%s): prompt %lld tokens, generated %lld tokens, first token after "
                   "%.3f s, total %.3f s\n",
                   pb::FinishReason_Name(f.reason()).c_str(), f.detail().c_str(),
                   static_cast<long long>(f.usage().prompt_tokens()),
                   static_cast<long long>(f.usage().completion_tokens()),
                   f.timings().time_to_first_token_seconds(), f.timings().total_seconds());
    }
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat(o.server, ": ", status.error_message()));
  }
  return absl::OkStatus();
}

}  // namespace llmw::cli
