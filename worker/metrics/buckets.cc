// Bucket layouts for histograms.
#include "worker/metrics/buckets.h"

#include <cmath>

#include "absl/status/status.h"

namespace llmw::metrics {

std::vector<double> LatencyBuckets() {
  // Written out rather than computed so that the le labels are exact decimals.
  return {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60};
}

absl::StatusOr<std::vector<double>> ExponentialBuckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) {
    return absl::InvalidArgumentError(
        "exponential buckets need start > 0, factor > 1 and count >= 1");
  }
  std::vector<double> bounds;
  bounds.reserve(count);
  // Each bound from start directly, so rounding errors do not accumulate.
  for (int i = 0; i < count; ++i) bounds.push_back(start * std::pow(factor, i));
  return CustomBuckets(std::move(bounds));
}

absl::StatusOr<std::vector<double>> LinearBuckets(double start, double width, int count) {
  if (!(width > 0) || count < 1) {
    return absl::InvalidArgumentError("linear buckets need width > 0 and count >= 1");
  }
  std::vector<double> bounds;
  bounds.reserve(count);
  for (int i = 0; i < count; ++i) bounds.push_back(start + width * i);
  return CustomBuckets(std::move(bounds));
}

absl::StatusOr<std::vector<double>> CustomBuckets(std::vector<double> bounds) {
  if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
  if (bounds.empty())
    return absl::InvalidArgumentError("histogram needs at least one bucket bound");
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      return absl::InvalidArgumentError("histogram bucket bounds must be finite");
    }
    if (i > 0 && !(bounds[i] > bounds[i - 1])) {
      return absl::InvalidArgumentError("histogram bucket bounds must be strictly increasing");
    }
  }
  return bounds;
}

}  // namespace llmw::metrics
