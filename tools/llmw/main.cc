// llmw: the command-line client of llm-worker.
#include <cstdio>
#include <string>
#include <vector>

#include "tools/llmw/generate_command.h"

namespace {

constexpr char kUsage[] =
    "usage: llmw <command> [flags]\n"
    "commands:\n"
    "  generate   stream a completion from a local model (llmw generate --help)\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "generate") return llmw::cli::RunGenerate(args);
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "llmw: unknown command '%s'\n%s", command.c_str(), kUsage);
  return 2;
}
