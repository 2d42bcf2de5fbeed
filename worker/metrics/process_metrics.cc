// Process metrics from /proc.
#include "worker/metrics/process_metrics.h"

#include <unistd.h>

#include <fstream>

#include "worker/metrics/sampled_family.h"

namespace llmw::metrics {

absl::Status ReadProcessMemory(double* virtual_bytes, double* resident_bytes) {
  std::ifstream statm("/proc/self/statm");
  unsigned long long size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) {
    return absl::UnavailableError("cannot read /proc/self/statm");
  }
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  *virtual_bytes = static_cast<double>(size_pages) * page;
  *resident_bytes = static_cast<double>(resident_pages) * page;
  return absl::OkStatus();
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  families.push_back(SampledFamily("llmw_build_info", "Build information; the value is always 1.",
                                   MetricType::Gauge));
  AddSample(families.back(), {{"version", version_}}, 1);
  double virtual_bytes = 0, resident_bytes = 0;
  if (ReadProcessMemory(&virtual_bytes, &resident_bytes).ok()) {
    families.push_back(SampledFamily("llmw_process_resident_memory_bytes",
                                     "Resident memory size in bytes.", MetricType::Gauge));
    AddSample(families.back(), {}, resident_bytes);
    families.push_back(SampledFamily("llmw_process_virtual_memory_bytes",
                                     "Virtual memory size in bytes.", MetricType::Gauge));
    AddSample(families.back(), {}, virtual_bytes);
  }
  return families;
}

}  // namespace llmw::metrics
