// Metric children, families and the registry, with text-format rendering.
#include "worker/metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "worker/metrics/buckets.h"
#include "worker/metrics/text_format.h"

namespace llmw::metrics {

double Counter::Value() const {
  return static_cast<double>(count_.load(std::memory_order_relaxed)) +
         fraction_.load(std::memory_order_relaxed);
}

std::string Counter::Text() const {
  uint64_t count = count_.load(std::memory_order_relaxed);
  double fraction = fraction_.load(std::memory_order_relaxed);
  if (fraction == 0) return FormatValue(count);
  return FormatValue(static_cast<double>(count) + fraction);
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  // First bound >= v (bounds are inclusive). NaN would land in the first
  // bucket, as every comparison with it is false; it belongs in +Inf.
  size_t i = std::isnan(v)
                 ? bounds_->size()
                 : std::lower_bound(bounds_->begin(), bounds_->end(), v) - bounds_->begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds = *bounds_;
  s.cumulative.resize(bounds_->size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<std::string> FamilyBase::Key(std::vector<std::string> values) const {
  if (values.size() != label_names_.size()) {
    std::fprintf(stderr, "metrics: %s takes %zu label values, got %zu\n", name_.c_str(),
                 label_names_.size(), values.size());
    std::abort();
  }
  return values;
}

namespace {

// `{a="x",b="y"}` with an optional extra label (for "le"); empty when there
// are no labels at all.
std::string LabelText(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out.append(extra_name);
    out += "=\"";
    out.append(extra_value);
    out += '"';
  }
  out += '}';
  return out;
}

void AppendHeader(const FamilyBase& f, std::string_view type, std::string* out) {
  absl::StrAppend(out, "# HELP ", f.name(), " ", EscapeHelp(f.help()), "\n");
  absl::StrAppend(out, "# TYPE ", f.name(), " ", absl::string_view(type.data(), type.size()), "\n");
}

template <typename M>
void RenderChild(const FamilyBase& f, const std::vector<std::string>& values, const M& m,
                 std::string* out);

template <>
void RenderChild(const FamilyBase& f, const std::vector<std::string>& values, const Counter& c,
                 std::string* out) {
  absl::StrAppend(out, f.name(), LabelText(f.label_names(), values), " ", c.Text(), "\n");
}

template <>
void RenderChild(const FamilyBase& f, const std::vector<std::string>& values, const Gauge& g,
                 std::string* out) {
  absl::StrAppend(out, f.name(), LabelText(f.label_names(), values), " ", FormatValue(g.Value()),
                  "\n");
}

template <>
void RenderChild(const FamilyBase& f, const std::vector<std::string>& values, const Histogram& h,
                 std::string* out) {
  Histogram::Snapshot s = h.Read();
  for (size_t i = 0; i <= s.bounds.size(); ++i) {
    std::string le = i < s.bounds.size() ? FormatValue(s.bounds[i]) : "+Inf";
    absl::StrAppend(out, f.name(), "_bucket", LabelText(f.label_names(), values, "le", le), " ",
                    FormatValue(s.cumulative[i]), "\n");
  }
  std::string labels = LabelText(f.label_names(), values);
  absl::StrAppend(out, f.name(), "_sum", labels, " ", FormatValue(s.sum), "\n");
  absl::StrAppend(out, f.name(), "_count", labels, " ", FormatValue(s.count), "\n");
}

template <typename M>
constexpr MetricType TypeOf();
template <>
constexpr MetricType TypeOf<Counter>() {
  return MetricType::kCounter;
}
template <>
constexpr MetricType TypeOf<Gauge>() {
  return MetricType::kGauge;
}
template <>
constexpr MetricType TypeOf<Histogram>() {
  return MetricType::kHistogram;
}

std::string_view TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

template <typename M>
Family<M>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  Factory factory)
    : FamilyBase(std::move(name), std::move(help), std::move(label_names)),
      factory_(std::move(factory)) {
  if (this->label_names().empty()) GetOrCreate({});
}

template <typename M>
M& Family<M>::WithLabels(std::initializer_list<std::string_view> values) {
  std::vector<std::string> key;
  key.reserve(values.size());
  for (std::string_view v : values) key.emplace_back(v);
  return GetOrCreate(Key(std::move(key)));
}

template <typename M>
M& Family<M>::WithLabels(const std::vector<std::string>& values) {
  return GetOrCreate(Key(values));
}

template <typename M>
M& Family<M>::GetOrCreate(std::vector<std::string> key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(key);
  if (it == children_.end()) it = children_.emplace(std::move(key), factory_()).first;
  return *it->second;
}

template <typename M>
MetricType Family<M>::type() const {
  return TypeOf<M>();
}

template <typename M>
void Family<M>::Render(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (children_.empty()) return;
  AppendHeader(*this, TypeName(type()), out);
  for (const auto& [values, child] : children_) RenderChild(*this, values, *child, out);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

absl::Status Registry::CheckNew(const std::string& name, std::string_view help,
                                const std::vector<std::string>& label_names) const {
  if (!IsValidMetricName(name)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid metric name \"", name, "\""));
  }
  if (help.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("metric ", name, " needs help text"));
  }
  std::set<std::string> seen;
  for (const std::string& l : label_names) {
    if (!IsValidLabelName(l)) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric ", name, ": invalid label name \"", l, "\""));
    }
    if (!seen.insert(l).second) {
      return absl::InvalidArgumentError(absl::StrCat("metric ", name, ": duplicate label ", l));
    }
  }
  if (families_.count(name) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("metric ", name, " is already registered"));
  }
  return absl::OkStatus();
}

absl::StatusOr<CounterFamily*> Registry::AddCounter(std::string_view name, std::string_view help,
                                                    std::vector<std::string> label_names) {
  std::string full(name);
  if (!EndsWith(full, "_total")) full += "_total";
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = CheckNew(full, help, label_names); !s.ok()) return s;
  auto family = std::make_unique<CounterFamily>(full, std::string(help), std::move(label_names),
                                                [] { return std::make_unique<Counter>(); });
  CounterFamily* ptr = family.get();
  families_.emplace(full, std::move(family));
  return ptr;
}

absl::StatusOr<GaugeFamily*> Registry::AddGauge(std::string_view name, std::string_view help,
                                                std::vector<std::string> label_names) {
  std::string full(name);
  if (EndsWith(full, "_total")) {
    return absl::InvalidArgumentError(
        absl::StrCat("gauge ", full, ": the _total suffix is for counters"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = CheckNew(full, help, label_names); !s.ok()) return s;
  auto family = std::make_unique<GaugeFamily>(full, std::string(help), std::move(label_names),
                                              [] { return std::make_unique<Gauge>(); });
  GaugeFamily* ptr = family.get();
  families_.emplace(full, std::move(family));
  return ptr;
}

absl::StatusOr<HistogramFamily*> Registry::AddHistogram(std::string_view name,
                                                        std::string_view help,
                                                        std::vector<double> bounds,
                                                        std::vector<std::string> label_names) {
  std::string full(name);
  if (EndsWith(full, "_total")) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram ", full, ": the _total suffix is for counters"));
  }
  for (const std::string& l : label_names) {
    if (l == "le") {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram ", full, ": label \"le\" is reserved"));
    }
  }
  absl::StatusOr<std::vector<double>> checked = CustomBuckets(std::move(bounds));
  if (!checked.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram ", full, ": ", checked.status().message()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = CheckNew(full, help, label_names); !s.ok()) return s;
  // The bounds live in the factory, which the family keeps for its lifetime.
  auto shared = std::make_shared<const std::vector<double>>(*std::move(checked));
  auto family = std::make_unique<HistogramFamily>(
      full, std::string(help), std::move(label_names),
      [shared] { return std::make_unique<Histogram>(shared.get()); });
  HistogramFamily* ptr = family.get();
  families_.emplace(full, std::move(family));
  return ptr;
}

Registry::CollectorId Registry::AddCollector(std::function<void()> collect) {
  std::lock_guard<std::mutex> lock(scrape_mu_);
  CollectorId id = next_collector_id_++;
  collectors_.emplace(id, std::move(collect));
  return id;
}

void Registry::RemoveCollector(CollectorId id) {
  std::lock_guard<std::mutex> lock(scrape_mu_);
  collectors_.erase(id);
}

std::string Registry::Render() {
  std::lock_guard<std::mutex> scrape(scrape_mu_);
  for (auto& [id, collect] : collectors_) collect();
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, family] : families_) family->Render(&out);
  return out;
}

}  // namespace llmw::metrics
