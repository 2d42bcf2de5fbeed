// Text to stdout, usage to stderr.
#include "tools/llmw/generate_output.h"

#include <cstdio>
#include <iostream>

namespace llmw::cli {

namespace pb = ::llmworker::v1;

void PrintGenerateResponse(const pb::GenerateResponse& response) {
  if (response.has_token()) {
    std::cout << response.token().text() << std::flush;
    return;
  }
  if (!response.has_finished()) return;
  const pb::Finished& f = response.finished();
  std::cout << f.text() << std::endl;
  const double ttft = f.timings().time_to_first_token_seconds();
  const double decode_seconds = f.timings().total_seconds() - ttft;
  const int64_t prompt = f.usage().prompt_tokens(), generated = f.usage().completion_tokens();
  std::fprintf(stderr,
               "llmw: %s (%s): prompt %lld tokens, generated %lld tokens; first token after "
               "%.3f s (%.1f prompt tok/s), decode %.1f tok/s\n",
               pb::FinishReason_Name(f.reason()).c_str(), f.detail().c_str(),
               static_cast<long long>(prompt), static_cast<long long>(generated), ttft,
               ttft > 0 ? prompt / ttft : 0.0,
               generated > 1 && decode_seconds > 0 ? (generated - 1) / decode_seconds : 0.0);
}

}  // namespace llmw::cli
