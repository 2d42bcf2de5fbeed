// Histogram bucket upper bounds: the default latency layout and helpers for
// custom ones. Bounds are strictly increasing and finite; the +Inf bucket is
// implicit and always added by the histogram.
#pragma once

#include <vector>

#include "absl/status/statusor.h"

namespace llmw::metrics {

// Seconds, 1-2-5 steps from 1 ms to 20 s, then 30 s and 60 s: fine enough
// for GPU decode steps and wide enough for end-to-end requests.
std::vector<double> LatencyBuckets();

// start, start*factor, ..., count bounds. Requires start > 0, factor > 1,
// count >= 1.
absl::StatusOr<std::vector<double>> ExponentialBuckets(double start, double factor, int count);

// start, start+width, ..., count bounds. Requires width > 0, count >= 1.
absl::StatusOr<std::vector<double>> LinearBuckets(double start, double width, int count);

// Checks a hand-written list: non-empty, finite, strictly increasing. A
// trailing +Inf is dropped (it is implicit).
absl::StatusOr<std::vector<double>> CustomBuckets(std::vector<double> bounds);

}  // namespace llmw::metrics
