// Metric families whose values are read at scrape time (from /proc, from the
// engines) rather than updated as events happen: a Collectable builds them
// afresh on every Collect().
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "prometheus/metric_family.h"

namespace llmw::metrics {

inline prometheus::MetricFamily SampledFamily(std::string name, std::string help,
                                              prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

// Appends one sample of a gauge or counter family.
inline void AddSample(prometheus::MetricFamily& family,
                      std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric& m = family.metric.emplace_back();
  m.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
}

}  // namespace llmw::metrics
