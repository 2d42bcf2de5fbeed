// `llmw tokenize`: prints a prompt's token ids and pieces, from a local
// checkpoint's tokenizer or a running worker's.
#pragma once

#include <string>
#include <vector>

namespace llmw::cli {

// Returns the process exit code.
int RunTokenize(const std::vector<std::string>& args);

}  // namespace llmw::cli
