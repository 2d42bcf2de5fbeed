// A small Prometheus metric registry: counter, gauge and histogram families
// with fixed label names, one child per label-value tuple, rendered in the
// text exposition format 0.0.4.
//
// Concurrency contract:
// - Counter, Gauge and Histogram (the children) are updated with atomics only;
//   any number of threads may update the same child at once. Look a child up
//   once (Family::WithLabels) and keep the reference: it stays valid, at the
//   same address, for the registry's lifetime (children are never removed).
// - Family::WithLabels takes that family's mutex (never a registry-wide
//   one); it is for setup, not for every increment.
// - Registering families and collectors takes the registry mutex. All
//   Registry methods are thread-safe.
// - Render runs the collectors (serialized: one scrape at a time) and then
//   reads every child's atomics. A scrape that races with updates sees each
//   value at some recent point; a histogram's _count always equals its +Inf
//   bucket, but its _sum may include an observation whose bucket is not yet
//   counted (or the reverse).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace llmw::metrics {

// Monotonic counter. Integer increments are exact up to 2^64; fractional ones
// accumulate in a separate double.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Inc(uint64_t n = 1) { count_.fetch_add(n, std::memory_order_relaxed); }
  // Negative and NaN amounts are ignored: a counter never goes down.
  void Add(double amount) {
    if (amount > 0) fraction_.fetch_add(amount, std::memory_order_relaxed);
  }
  double Value() const;
  // The text-format spelling: exact digits while all increments were integral.
  std::string Text() const;

 private:
  std::atomic<uint64_t> count_{0};
  std::atomic<double> fraction_{0};
};

class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Inc(double amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void Dec(double amount = 1) { value_.fetch_sub(amount, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations go into the first bucket whose upper bound is >= the value
// (bounds are inclusive, "le"); larger values and NaN go into +Inf.
class Histogram {
 public:
  // `bounds` must outlive the histogram (the family owns it).
  explicit Histogram(const std::vector<double>* bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double v);

  struct Snapshot {
    std::vector<double> bounds;        // without +Inf
    std::vector<uint64_t> cumulative;  // bounds.size() + 1 entries, last is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket, +Inf last
  std::atomic<double> sum_{0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

// Family common part: the name, help text, label names and the rendering.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  virtual MetricType type() const = 0;
  // Appends this family in the text format; nothing when it has no children.
  virtual void Render(std::string* out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  // Checks the number of label values and joins them into a map key; aborts
  // on a mismatch (label names are fixed in code, so that is a programming
  // error).
  std::vector<std::string> Key(std::vector<std::string> values) const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

template <typename M>
class Family final : public FamilyBase {
 public:
  using Factory = std::function<std::unique_ptr<M>()>;
  Family(std::string name, std::string help, std::vector<std::string> label_names, Factory factory);

  // The child for these label values (in label-name order), created on first
  // use. The reference is stable for the registry's lifetime.
  M& WithLabels(std::initializer_list<std::string_view> values);
  M& WithLabels(const std::vector<std::string>& values);

  MetricType type() const override;
  void Render(std::string* out) const override;

 private:
  M& GetOrCreate(std::vector<std::string> key);

  Factory factory_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_;  // guarded by mu_
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Names must be valid metric names and unique in the registry, help must be
  // non-empty, label names valid and distinct. A counter's name gets the
  // "_total" suffix when it lacks it; gauges and histograms must not end in
  // "_total", histograms must not use the label "le". A family without labels
  // has its single child from the start (so it renders as 0). The returned
  // pointer lives as long as the registry.
  absl::StatusOr<CounterFamily*> AddCounter(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names = {});
  absl::StatusOr<GaugeFamily*> AddGauge(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names = {});
  // `bounds` as from LatencyBuckets() or CustomBuckets() (validated again).
  absl::StatusOr<HistogramFamily*> AddHistogram(std::string_view name, std::string_view help,
                                                std::vector<double> bounds,
                                                std::vector<std::string> label_names = {});

  // Callbacks run at the start of every Render, one scrape at a time, e.g. to
  // fill gauges from a snapshot of the engine. They must not call Render or
  // the collector methods. RemoveCollector waits for a running scrape, so once
  // it returns the callback is not running and will not run again.
  using CollectorId = uint64_t;
  CollectorId AddCollector(std::function<void()> collect);
  void RemoveCollector(CollectorId id);

  // Runs the collectors, then renders all families, ordered by name.
  std::string Render();

 private:
  absl::Status CheckNew(const std::string& name, std::string_view help,
                        const std::vector<std::string>& label_names) const;

  std::mutex scrape_mu_;                                     // serializes scrapes; taken before mu_
  std::map<CollectorId, std::function<void()>> collectors_;  // guarded by scrape_mu_
  CollectorId next_collector_id_ = 1;                        // guarded by scrape_mu_
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_;  // guarded by mu_
};

}  // namespace llmw::metrics
