// Histogram bucket upper bounds shared by the worker's histograms (the +Inf
// bucket is implicit).
#pragma once

#include "prometheus/histogram.h"

namespace llmw::metrics {

// Seconds, 1-2-5 steps from 1 ms to 20 s, then 30 s and 60 s: fine enough
// for GPU decode steps and wide enough for end-to-end requests. Written out
// so that the le labels are exact decimals.
inline prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60};
}

// Token counts: powers of two from 1 to 32768.
inline prometheus::Histogram::BucketBoundaries TokenCountBuckets() {
  prometheus::Histogram::BucketBoundaries bounds;
  for (double b = 1; b <= 32768; b *= 2) bounds.push_back(b);
  return bounds;
}

}  // namespace llmw::metrics
