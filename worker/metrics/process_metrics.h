// Process-level metrics read at scrape time: resident and virtual memory
// (from /proc/self/statm) and a constant build-info gauge.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "prometheus/collectable.h"

namespace llmw::metrics {

// llmw_process_resident_memory_bytes, llmw_process_virtual_memory_bytes and
// llmw_build_info{version="..."} 1.
class ProcessCollector final : public prometheus::Collectable {
 public:
  explicit ProcessCollector(std::string version) : version_(std::move(version)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::string version_;
};

// Reads /proc/self/statm: {virtual bytes, resident bytes}.
absl::Status ReadProcessMemory(double* virtual_bytes, double* resident_bytes);

}  // namespace llmw::metrics
