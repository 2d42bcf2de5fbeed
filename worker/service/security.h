// Transport security and caller authentication of the Worker service: TLS or
// mutual TLS from PEM files, and an optional bearer token that every Worker
// call must present (health checks stay open to probes).
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_context.h"

namespace llmw {

struct SecurityOptions {
  std::string tls_cert_file;       // server certificate chain (PEM); empty = plaintext
  std::string tls_key_file;        // its private key (PEM)
  std::string tls_client_ca_file;  // set: clients must present a certificate this CA signed
  std::string auth_token;          // set: calls need "authorization: Bearer <token>"
};

// Plaintext, TLS or mutual TLS credentials; INVALID_ARGUMENT naming the file
// that is missing, unreadable or inconsistent with the others.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const SecurityOptions& options);

// Reads a token file (surrounding whitespace removed); an empty token is an error.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Checks a call's bearer token against `expected` in constant time (OK when
// `expected` is empty).
class TokenAuthenticator {
 public:
  explicit TokenAuthenticator(std::string expected) : expected_(std::move(expected)) {}
  absl::Status Check(const grpc::CallbackServerContext& context) const;

 private:
  std::string expected_;
};

}  // namespace llmw
