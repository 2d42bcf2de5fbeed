// Process-level metrics filled at scrape time: resident and virtual memory
// (from /proc/self/statm) and a constant build-info gauge.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "worker/metrics/registry.h"

namespace llmw::metrics {

// Registers llmw_process_resident_memory_bytes,
// llmw_process_virtual_memory_bytes and llmw_build_info{version="..."} 1,
// plus a collector that refreshes the memory gauges before each scrape.
absl::Status RegisterProcessMetrics(Registry& registry, std::string_view version);

// Reads /proc/self/statm: {virtual bytes, resident bytes}.
absl::Status ReadProcessMemory(double* virtual_bytes, double* resident_bytes);

}  // namespace llmw::metrics
