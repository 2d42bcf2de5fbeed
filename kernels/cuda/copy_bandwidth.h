// The device's memory bandwidth as a plain copy reaches it: the ceiling that a bandwidth-bound
// kernel (a decode step's mat-vecs) is measured against.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"

namespace llmw {

// Bytes read plus bytes written per second by device-to-device copies of `bytes` on the current
// device: the median of `runs` copies timed with CUDA events after one warm-up copy. Allocates
// two buffers of `bytes` for the duration of the call.
absl::StatusOr<double> CudaCopyBandwidth(int64_t bytes = int64_t{1} << 30, int runs = 20);

}  // namespace llmw
