// Prints a Generate stream the same way whether it comes from a worker or from the local engine:
// token text to stdout as it arrives, and a final line of usage and speed to stderr.
#pragma once

#include "llmworker/v1/worker.pb.h"

namespace llmw::cli {

void PrintGenerateResponse(const llmworker::v1::GenerateResponse& response);

}  // namespace llmw::cli
