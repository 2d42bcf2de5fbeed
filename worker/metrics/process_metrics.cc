// Process metrics from /proc, refreshed by a registry collector.
#include "worker/metrics/process_metrics.h"

#include <unistd.h>

#include <fstream>

#include "absl/status/statusor.h"

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

absl::Status RegisterProcessMetrics(Registry& registry, std::string_view version) {
  absl::StatusOr<GaugeFamily*> rss =
      registry.AddGauge("llmw_process_resident_memory_bytes", "Resident memory size in bytes.");
  if (!rss.ok()) return rss.status();
  absl::StatusOr<GaugeFamily*> vsz =
      registry.AddGauge("llmw_process_virtual_memory_bytes", "Virtual memory size in bytes.");
  if (!vsz.ok()) return vsz.status();
  absl::StatusOr<GaugeFamily*> info = registry.AddGauge(
      "llmw_build_info", "Build information; the value is always 1.", {"version"});
  if (!info.ok()) return info.status();
  (*info)->WithLabels({version}).Set(1);

  Gauge* rss_gauge = &(*rss)->WithLabels({});
  Gauge* vsz_gauge = &(*vsz)->WithLabels({});
  registry.AddCollector([rss_gauge, vsz_gauge] {
    double virtual_bytes = 0, resident_bytes = 0;
    if (ReadProcessMemory(&virtual_bytes, &resident_bytes).ok()) {
      rss_gauge->Set(resident_bytes);
      vsz_gauge->Set(virtual_bytes);
    }
  });
  return absl::OkStatus();
}

}  // namespace llmw::metrics
