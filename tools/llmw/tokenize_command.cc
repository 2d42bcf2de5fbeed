// Tokenization through a local model or the Tokenize RPC; one line per token:
// id, tab, the piece's text (escaped).
#include "tools/llmw/tokenize_command.h"

#include <cstdio>
#include <iostream>

#include "absl/strings/escaping.h"
#include "grpcpp/grpcpp.h"
#include "kernels/status_macros.h"
#include "llmworker/v1/worker.grpc.pb.h"
#include "models/registry.h"
#include "tools/llmw/remote_generate.h"
#include "worker/config/flags.h"

namespace llmw::cli {
namespace {

namespace pb = ::llmworker::v1;

const std::vector<FlagSpec>& TokenizeFlags() {
  static const auto* specs = [] {
    auto* all = new std::vector<FlagSpec>(ConnectionFlags());
    all->insert(
        all->end(),
        {{"model",
          "path to a checkpoint (only its tokenizer is read; with --server: the model's name)"},
         {"prompt", "the text to tokenize (required)"},
         {"no-special", "do not add BOS/EOS", true},
         {"special-as-text",
          "read special-token text in the prompt (\"<|im_start|>\") as plain text", true}});
    return all;
  }();
  return *specs;
}

void Print(int32_t id, const std::string& piece) {
  std::cout << id << "\t" << absl::CHexEscape(piece) << "\n";
}

absl::Status Tokenize(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(TokenizeFlags(), args));
  ASSIGN_OR_RETURN(std::string prompt, flags.GetRequired("prompt"));
  const bool add_special = !flags.Has("no-special");
  const bool special_as_text = flags.Has("special-as-text");
  const Connection connection = ReadConnection(flags);
  if (!connection.server.empty()) {
    ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, OpenChannel(connection));
    auto stub = pb::Worker::NewStub(channel);
    pb::TokenizeRequest request;
    request.set_model(flags.Get("model").value_or(""));
    request.set_prompt(prompt);
    request.set_add_special_tokens(add_special);
    request.set_special_tokens_as_text(special_as_text);
    pb::TokenizeResponse response;
    grpc::ClientContext context;
    RETURN_IF_ERROR(Authorize(connection, context));
    const grpc::Status status = stub->Tokenize(&context, request, &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          connection.server + ": " + status.error_message());
    }
    for (int i = 0; i < response.ids_size(); ++i) Print(response.ids(i), response.pieces(i));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::string path, flags.GetRequired("model"));
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, LoadTokenizer(path));
  for (int32_t id : tokenizer->Encode(prompt, add_special, !special_as_text)) {
    Print(id, tokenizer->TokenText(id));
  }
  return absl::OkStatus();
}

}  // namespace

int RunTokenize(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << "usage: llmw tokenize (--model PATH | --server HOST:PORT) --prompt TEXT\n"
                << FlagsHelp(TokenizeFlags());
      return 0;
    }
  }
  const absl::Status status = Tokenize(args);
  if (!status.ok()) {
    std::fprintf(stderr, "llmw: error: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace llmw::cli
