// A streaming Generate call against llm-worker.
#include "tools/llmw/remote_generate.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "kernels/status_macros.h"
#include "llmworker/v1/worker.grpc.pb.h"

namespace llmw::cli {
namespace pb = ::llmworker::v1;

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read '", path, "'"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::vector<FlagSpec> ConnectionFlags() {
  return {{"server", "host:port of a running llm-worker"},
          {"tls-ca", "CA certificate (PEM) to verify the worker with; enables TLS"},
          {"tls-cert", "client certificate (PEM) for mutual TLS"},
          {"tls-key", "client private key (PEM) for mutual TLS"},
          {"auth-token-file", "file holding the worker's bearer token"}};
}

Connection ReadConnection(const ParsedFlags& flags) {
  return Connection{flags.Get("server").value_or(""), flags.Get("tls-ca").value_or(""),
                    flags.Get("tls-cert").value_or(""), flags.Get("tls-key").value_or(""),
                    flags.Get("auth-token-file").value_or("")};
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const Connection& c) {
  if (c.tls_ca_file.empty())
    return grpc::CreateChannel(c.server, grpc::InsecureChannelCredentials());
  grpc::SslCredentialsOptions ssl;
  ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(c.tls_ca_file));
  if (!c.tls_cert_file.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFile(c.tls_cert_file));
    ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFile(c.tls_key_file));
  }
  return grpc::CreateChannel(c.server, grpc::SslCredentials(ssl));
}

absl::Status Authorize(const Connection& c, grpc::ClientContext& context) {
  if (c.auth_token_file.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string token, ReadFile(c.auth_token_file));
  context.AddMetadata("authorization", "Bearer " + std::string(absl::StripAsciiWhitespace(token)));
  return absl::OkStatus();
}

absl::Status GenerateRemote(const RemoteGenerateOptions& o) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, OpenChannel(o.connection));
  auto stub = pb::Worker::NewStub(channel);
  pb::GenerateRequest request;
  request.set_model(o.model);
  if (o.chat) {
    pb::ChatMessage* m = request.mutable_chat()->add_messages();
    m->set_role("user");
    m->set_content(o.prompt);
  } else {
    request.set_prompt(o.prompt);
    request.set_special_tokens_as_text(o.special_tokens_as_text);
  }
  request.set_max_tokens(static_cast<int32_t>(o.max_tokens));
  request.set_ignore_eos(o.ignore_eos);
  request.set_temperature(o.sampling.temperature);
  request.set_top_k(o.sampling.top_k);
  request.set_top_p(o.sampling.top_p);
  if (o.sampling.seed) request.set_seed(*o.sampling.seed);

  grpc::ClientContext context;
  RETURN_IF_ERROR(Authorize(o.connection, context));
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
                        absl::StrCat(o.connection.server, ": ", status.error_message()));
  }
  return absl::OkStatus();
}

}  // namespace llmw::cli
