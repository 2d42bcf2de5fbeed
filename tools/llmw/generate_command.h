// `llmw generate`: loads a model and streams a completion to stdout.
#pragma once

#include <string>
#include <vector>

namespace llmw::cli {

// Returns the process exit code.
int RunGenerate(const std::vector<std::string>& args);

}  // namespace llmw::cli
