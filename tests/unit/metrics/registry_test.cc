// Registry behaviour and exposition golden strings, derived by hand from the
// text format 0.0.4 rules.
#include "worker/metrics/registry.h"

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "worker/metrics/buckets.h"
#include "worker/metrics/process_metrics.h"

namespace llmw::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MetricsRegistryTest, CounterGolden) {
  Registry registry;
  CounterFamily* requests =
      *registry.AddCounter("llmw_requests", "Finished requests.", {"model", "reason"});
  requests->WithLabels({"smollm2", "stop"}).Inc(3);
  requests->WithLabels({"smollm2", "length"}).Inc();
  requests->WithLabels({"smollm2", "length"}).Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP llmw_requests_total Finished requests.\n"
            "# TYPE llmw_requests_total counter\n"
            "llmw_requests_total{model=\"smollm2\",reason=\"length\"} 2\n"
            "llmw_requests_total{model=\"smollm2\",reason=\"stop\"} 3\n");
}

TEST(MetricsRegistryTest, CounterKeepsTotalSuffixAndFractions) {
  Registry registry;
  CounterFamily* seconds = *registry.AddCounter("llmw_busy_seconds_total", "Busy time.");
  seconds->WithLabels({}).Add(0.25);
  seconds->WithLabels({}).Add(-5);  // ignored
  seconds->WithLabels({}).Inc(1);
  EXPECT_EQ(registry.Render(),
            "# HELP llmw_busy_seconds_total Busy time.\n"
            "# TYPE llmw_busy_seconds_total counter\n"
            "llmw_busy_seconds_total 1.25\n");
}

TEST(MetricsRegistryTest, UnlabeledFamiliesRenderZeroLabeledEmptyOnesNothing) {
  Registry registry;
  ASSERT_TRUE(registry.AddGauge("llmw_running", "Running sequences.").ok());
  ASSERT_TRUE(registry.AddGauge("llmw_waiting", "Waiting requests.", {"model"}).ok());
  EXPECT_EQ(registry.Render(),
            "# HELP llmw_running Running sequences.\n"
            "# TYPE llmw_running gauge\n"
            "llmw_running 0\n");
}

TEST(MetricsRegistryTest, GaugeGolden) {
  Registry registry;
  GaugeFamily* usage =
      *registry.AddGauge("llmw_kv_cache_usage_ratio", "KV cache usage.", {"model"});
  Gauge& g = usage->WithLabels({"smollm2"});
  g.Set(0.5);
  g.Inc(0.25);
  g.Dec();
  GaugeFamily* inf = *registry.AddGauge("llmw_a_special", "Specials.", {"kind"});
  inf->WithLabels({"nan"}).Set(std::numeric_limits<double>::quiet_NaN());
  inf->WithLabels({"pinf"}).Set(std::numeric_limits<double>::infinity());
  inf->WithLabels({"ninf"}).Set(-std::numeric_limits<double>::infinity());
  EXPECT_EQ(registry.Render(),
            "# HELP llmw_a_special Specials.\n"
            "# TYPE llmw_a_special gauge\n"
            "llmw_a_special{kind=\"nan\"} NaN\n"
            "llmw_a_special{kind=\"ninf\"} -Inf\n"
            "llmw_a_special{kind=\"pinf\"} +Inf\n"
            "# HELP llmw_kv_cache_usage_ratio KV cache usage.\n"
            "# TYPE llmw_kv_cache_usage_ratio gauge\n"
            "llmw_kv_cache_usage_ratio{model=\"smollm2\"} -0.25\n");
}

TEST(MetricsRegistryTest, HistogramGolden) {
  Registry registry;
  HistogramFamily* ttft = *registry.AddHistogram("llmw_time_to_first_token_seconds",
                                                 "Time to first token.", {0.01, 0.1, 1}, {"model"});
  Histogram& h = ttft->WithLabels({"smollm2"});
  h.Observe(0.005);  // <= 0.01
  h.Observe(0.01);   // bounds are inclusive
  h.Observe(0.5);    // <= 1
  h.Observe(2);      // +Inf only
  EXPECT_EQ(registry.Render(),
            "# HELP llmw_time_to_first_token_seconds Time to first token.\n"
            "# TYPE llmw_time_to_first_token_seconds histogram\n"
            "llmw_time_to_first_token_seconds_bucket{model=\"smollm2\",le=\"0.01\"} 2\n"
            "llmw_time_to_first_token_seconds_bucket{model=\"smollm2\",le=\"0.1\"} 2\n"
            "llmw_time_to_first_token_seconds_bucket{model=\"smollm2\",le=\"1\"} 3\n"
            "llmw_time_to_first_token_seconds_bucket{model=\"smollm2\",le=\"+Inf\"} 4\n"
            "llmw_time_to_first_token_seconds_sum{model=\"smollm2\"} 2.515\n"
            "llmw_time_to_first_token_seconds_count{model=\"smollm2\"} 4\n");
}

TEST(MetricsRegistryTest, HistogramWithoutLabels) {
  Registry registry;
  HistogramFamily* f = *registry.AddHistogram("llmw_step_seconds", "Step time.", {1, 2});
  f->WithLabels({}).Observe(1.5);
  EXPECT_EQ(registry.Render(),
            "# HELP llmw_step_seconds Step time.\n"
            "# TYPE llmw_step_seconds histogram\n"
            "llmw_step_seconds_bucket{le=\"1\"} 0\n"
            "llmw_step_seconds_bucket{le=\"2\"} 1\n"
            "llmw_step_seconds_bucket{le=\"+Inf\"} 1\n"
            "llmw_step_seconds_sum 1.5\n"
            "llmw_step_seconds_count 1\n");
}

TEST(MetricsRegistryTest, HistogramCumulativeCounts) {
  Registry registry;
  HistogramFamily* f = *registry.AddHistogram("llmw_latency_seconds", "Latency.", LatencyBuckets());
  Histogram& h = f->WithLabels({});
  // One observation exactly on each bound plus one beyond the last.
  std::vector<double> bounds = LatencyBuckets();
  for (double b : bounds) h.Observe(b);
  h.Observe(1000);
  h.Observe(std::numeric_limits<double>::quiet_NaN());  // +Inf bucket
  Histogram::Snapshot s = h.Read();
  ASSERT_EQ(s.cumulative.size(), bounds.size() + 1);
  for (size_t i = 0; i < bounds.size(); ++i) EXPECT_EQ(s.cumulative[i], i + 1) << bounds[i];
  EXPECT_EQ(s.cumulative.back(), bounds.size() + 2);
  EXPECT_EQ(s.count, bounds.size() + 2);
  EXPECT_TRUE(std::isnan(s.sum));
}

TEST(MetricsRegistryTest, LabelValuesAreEscapedAndHelpToo) {
  Registry registry;
  CounterFamily* f = *registry.AddCounter("llmw_x", "Line one\nback\\slash \"q\".", {"model"});
  f->WithLabels({"we\"ird\\name\nx"}).Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP llmw_x_total Line one\\nback\\\\slash \"q\".\n"
            "# TYPE llmw_x_total counter\n"
            "llmw_x_total{model=\"we\\\"ird\\\\name\\nx\"} 1\n");
}

TEST(MetricsRegistryTest, FamiliesAndChildrenInStableOrder) {
  Registry registry;
  GaugeFamily* b = *registry.AddGauge("llmw_b", "B.", {"model"});
  GaugeFamily* a = *registry.AddGauge("llmw_a", "A.");
  b->WithLabels({"z"}).Set(1);
  b->WithLabels({"m"}).Set(2);
  a->WithLabels({}).Set(3);
  const std::string first = registry.Render();
  EXPECT_EQ(
      first,
      "# HELP llmw_a A.\n# TYPE llmw_a gauge\nllmw_a 3\n"
      "# HELP llmw_b B.\n# TYPE llmw_b gauge\nllmw_b{model=\"m\"} 2\nllmw_b{model=\"z\"} 1\n");
  EXPECT_EQ(registry.Render(), first);
}

TEST(MetricsRegistryTest, ChildReferencesAreStable) {
  Registry registry;
  CounterFamily* f = *registry.AddCounter("llmw_c", "C.", {"model"});
  Counter* first = &f->WithLabels({"a"});
  for (int i = 0; i < 100; ++i) f->WithLabels({std::to_string(i)});
  EXPECT_EQ(&f->WithLabels({"a"}), first);
  EXPECT_EQ(&f->WithLabels(std::vector<std::string>{"a"}), first);
}

TEST(MetricsRegistryTest, RejectsBadDefinitions) {
  Registry registry;
  EXPECT_FALSE(registry.AddCounter("bad-name", "x").ok());
  EXPECT_FALSE(registry.AddCounter("llmw_no_help", "").ok());
  EXPECT_FALSE(registry.AddCounter("llmw_c", "x", {"__r"}).ok());
  EXPECT_FALSE(registry.AddCounter("llmw_c", "x", {"model", "model"}).ok());
  EXPECT_FALSE(registry.AddGauge("llmw_g_total", "x").ok());
  EXPECT_FALSE(registry.AddHistogram("llmw_h", "x", {1, 2}, {"le"}).ok());
  EXPECT_FALSE(registry.AddHistogram("llmw_h", "x", {2, 1}).ok());
  EXPECT_FALSE(registry.AddHistogram("llmw_h", "x", {}).ok());
  ASSERT_TRUE(registry.AddCounter("llmw_dup", "x").ok());
  EXPECT_EQ(registry.AddCounter("llmw_dup_total", "x").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.AddGauge("llmw_dup_total", "x").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MetricsRegistryDeathTest, WrongLabelCountAborts) {
  Registry registry;
  CounterFamily* f = *registry.AddCounter("llmw_c", "C.", {"model"});
  EXPECT_DEATH(f->WithLabels({"a", "b"}), "takes 1 label values, got 2");
}

TEST(MetricsRegistryTest, ConcurrentIncrementsSum) {
  Registry registry;
  CounterFamily* c = *registry.AddCounter("llmw_tokens", "Tokens.", {"model"});
  GaugeFamily* g = *registry.AddGauge("llmw_level", "Level.");
  HistogramFamily* h = *registry.AddHistogram("llmw_lat_seconds", "Latency.", {0.5, 1.5});
  constexpr int kThreads = 4;
  constexpr int kIters = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread looks the children up itself, racing on creation too.
      Counter& counter = c->WithLabels({"smollm2"});
      Counter& per_thread = c->WithLabels({std::to_string(t)});
      Gauge& gauge = g->WithLabels({});
      Histogram& hist = h->WithLabels({});
      for (int i = 0; i < kIters; ++i) {
        counter.Inc();
        per_thread.Add(0.5);
        gauge.Inc(2);
        gauge.Dec();
        hist.Observe(i % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  // Scrape while the writers run; the values only have to be well formed.
  for (int i = 0; i < 5; ++i) EXPECT_THAT(registry.Render(), HasSubstr("# TYPE llmw_level gauge"));
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->WithLabels({"smollm2"}).Value(), kThreads * kIters);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(c->WithLabels({std::to_string(t)}).Value(), kIters * 0.5);
  }
  EXPECT_EQ(g->WithLabels({}).Value(), kThreads * kIters);
  Histogram::Snapshot s = h->WithLabels({}).Read();
  EXPECT_EQ(s.cumulative[0], uint64_t{kThreads * kIters / 2});
  EXPECT_EQ(s.cumulative[1], uint64_t{kThreads * kIters});
  EXPECT_EQ(s.count, uint64_t{kThreads * kIters});
  EXPECT_EQ(s.sum, kThreads * kIters / 2 * 1.25);
}

TEST(MetricsRegistryTest, CollectorsRunBeforeRenderAndCanBeRemoved) {
  Registry registry;
  GaugeFamily* running = *registry.AddGauge("llmw_running", "Running.", {"model"});
  int snapshot = 7;
  Registry::CollectorId id =
      registry.AddCollector([&] { running->WithLabels({"smollm2"}).Set(snapshot); });
  EXPECT_THAT(registry.Render(), HasSubstr("llmw_running{model=\"smollm2\"} 7\n"));
  snapshot = 9;
  EXPECT_THAT(registry.Render(), HasSubstr("llmw_running{model=\"smollm2\"} 9\n"));
  registry.RemoveCollector(id);
  snapshot = 11;
  EXPECT_THAT(registry.Render(), HasSubstr("llmw_running{model=\"smollm2\"} 9\n"));
}

TEST(MetricsBucketsTest, LatencyBucketsStartAtOneMillisecond) {
  std::vector<double> b = LatencyBuckets();
  EXPECT_EQ(b.front(), 0.001);
  EXPECT_EQ(b.back(), 60);
  EXPECT_TRUE(CustomBuckets(b).ok());
}

TEST(MetricsBucketsTest, Helpers) {
  EXPECT_THAT(*ExponentialBuckets(0.001, 10, 4), ::testing::ElementsAre(0.001, 0.01, 0.1, 1));
  EXPECT_THAT(*LinearBuckets(1, 2, 3), ::testing::ElementsAre(1, 3, 5));
  EXPECT_THAT(*CustomBuckets({1, 2, std::numeric_limits<double>::infinity()}),
              ::testing::ElementsAre(1, 2));
  EXPECT_FALSE(ExponentialBuckets(0, 2, 3).ok());
  EXPECT_FALSE(ExponentialBuckets(1, 1, 3).ok());
  EXPECT_FALSE(LinearBuckets(1, 0, 3).ok());
  EXPECT_FALSE(CustomBuckets({1, 1}).ok());
  EXPECT_FALSE(CustomBuckets({std::numeric_limits<double>::quiet_NaN()}).ok());
}

TEST(ProcessMetricsTest, ResidentMemoryAndBuildInfo) {
  Registry registry;
  ASSERT_TRUE(RegisterProcessMetrics(registry, "1.2.3").ok());
  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE llmw_process_resident_memory_bytes gauge\n"));
  EXPECT_THAT(text, HasSubstr("llmw_build_info{version=\"1.2.3\"} 1\n"));
  double virtual_bytes = 0, resident_bytes = 0;
  ASSERT_TRUE(ReadProcessMemory(&virtual_bytes, &resident_bytes).ok());
  EXPECT_GT(resident_bytes, 0);
  EXPECT_GE(virtual_bytes, resident_bytes);
  EXPECT_THAT(text, ::testing::Not(HasSubstr("llmw_process_resident_memory_bytes 0\n")));
  // A second registration in the same registry is a duplicate.
  EXPECT_FALSE(RegisterProcessMetrics(registry, "1.2.3").ok());
}

}  // namespace
}  // namespace llmw::metrics
