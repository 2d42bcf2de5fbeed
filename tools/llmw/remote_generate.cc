// A streaming Generate call against llm-worker.
#include "tools/llmw/remote_generate.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "kernels/status_macros.h"
#include "llmworker/v1/worker.grpc.pb.h"
#include "tools/llmw/file_text.h"
#include "tools/llmw/generate_output.h"

namespace llmw::cli {
namespace pb = ::llmworker::v1;

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
  ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFileText(c.tls_ca_file));
  if (!c.tls_cert_file.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFileText(c.tls_cert_file));
    ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFileText(c.tls_key_file));
  }
  return grpc::CreateChannel(c.server, grpc::SslCredentials(ssl));
}

absl::Status Authorize(const Connection& c, grpc::ClientContext& context) {
  if (c.auth_token_file.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string token, ReadFileText(c.auth_token_file));
  context.AddMetadata("authorization", "Bearer " + std::string(absl::StripAsciiWhitespace(token)));
  return absl::OkStatus();
}

absl::Status GenerateRemote(const Connection& connection, const pb::GenerateRequest& request) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, OpenChannel(connection));
  auto stub = pb::Worker::NewStub(channel);
  grpc::ClientContext context;
  RETURN_IF_ERROR(Authorize(connection, context));
  std::unique_ptr<grpc::ClientReader<pb::GenerateResponse>> reader =
      stub->Generate(&context, request);
  pb::GenerateResponse response;
  while (reader->Read(&response)) PrintGenerateResponse(response);
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat(connection.server, ": ", status.error_message()));
  }
  return absl::OkStatus();
}

}  // namespace llmw::cli
