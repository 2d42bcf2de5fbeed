// Timing of work queued on a CUDA stream with CUDA events: what the GPU benchmarks and the copy
// bandwidth probe measure with.
#pragma once

#include <cuda_runtime_api.h>

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace llmw {

// Calls queue(run) for run = 0 .. warmup + runs - 1, each between two events on `stream`, and
// returns the median of the last `runs` spans in microseconds. The first failure (of queue or of
// the events) ends the loop and is returned.
absl::StatusOr<double> MedianMicroseconds(cudaStream_t stream, int warmup, int runs,
                                          const std::function<absl::Status(int run)>& queue);

}  // namespace llmw
