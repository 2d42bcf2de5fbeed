// llmw: the command-line client of llm-worker.
#include <cstdio>
#include <string>
#include <vector>

#include "tools/llmw/generate_command.h"
#include "tools/llmw/tokenize_command.h"

namespace {

constexpr char kUsage[] =
    "usage: llmw <command> [flags]\n"
    "commands:\n"
    "  generate   stream a completion, locally or from a worker (llmw generate --help)\n"
    "  chat       generate with the prompt as a chat message (same flags as generate)\n"
    "  tokenize   print a prompt's tokens (llmw tokenize --help)\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "generate") return llmw::cli::RunGenerate(args);
  if (command == "chat") {
    std::vector<std::string> chat_args = args;
    chat_args.push_back("--chat");
    return llmw::cli::RunGenerate(chat_args);
  }
  if (command == "tokenize") return llmw::cli::RunTokenize(args);
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "llmw: unknown command '%s'\n%s", command.c_str(), kUsage);
  return 2;
}
