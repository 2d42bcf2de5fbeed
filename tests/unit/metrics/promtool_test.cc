// Runs `promtool check metrics` (parser and linter of the Prometheus
// project) over rendered text of every metric type. Skipped when promtool is
// not installed; scripts/setup.sh installs it.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "worker/metrics/buckets.h"
#include "worker/metrics/process_metrics.h"
#include "worker/metrics/registry.h"

namespace llmw::metrics {
namespace {

bool HavePromtool() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

// Exit status and combined output of `promtool check metrics < text`.
int CheckMetrics(const std::string& text, std::string* output) {
  std::filesystem::path dir = std::filesystem::temp_directory_path();
  std::string stem = "llmw_promtool_" + std::to_string(getpid());
  std::filesystem::path input = dir / (stem + ".prom");
  std::filesystem::path log = dir / (stem + ".log");
  std::ofstream(input) << text;
  std::string command =
      "promtool check metrics < '" + input.string() + "' > '" + log.string() + "' 2>&1";
  int status = std::system(command.c_str());
  std::ifstream in(log);
  output->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::filesystem::remove(input);
  std::filesystem::remove(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ServiceLikeText() {
  Registry registry;
  EXPECT_TRUE(RegisterProcessMetrics(registry, "0.1.0").ok());
  CounterFamily* requests =
      *registry.AddCounter("llmw_requests", "Finished requests by reason.", {"model", "reason"});
  requests->WithLabels({"smollm2", "stop"}).Inc(3);
  requests->WithLabels({"smollm2", "length"}).Inc();
  requests->WithLabels({"odd \"model\"\\name\n", "stop"}).Inc();
  CounterFamily* tokens =
      *registry.AddCounter("llmw_prompt_tokens_total", "Prompt tokens.", {"model"});
  tokens->WithLabels({"smollm2"}).Inc(uint64_t{1} << 40);
  GaugeFamily* running =
      *registry.AddGauge("llmw_running_sequences", "Running.\nSecond line.", {"model"});
  running->WithLabels({"smollm2"}).Set(4);
  running->WithLabels({"nan"}).Set(std::numeric_limits<double>::quiet_NaN());
  running->WithLabels({"inf"}).Set(-std::numeric_limits<double>::infinity());
  GaugeFamily* usage =
      *registry.AddGauge("llmw_kv_cache_usage_ratio", "KV cache usage.", {"model"});
  usage->WithLabels({"smollm2"}).Set(0.375);
  HistogramFamily* ttft = *registry.AddHistogram(
      "llmw_time_to_first_token_seconds", "Time to first token.", LatencyBuckets(), {"model"});
  for (double v : {0.0004, 0.003, 0.02, 1.5, 100.0}) ttft->WithLabels({"smollm2"}).Observe(v);
  HistogramFamily* step = *registry.AddHistogram("llmw_decode_step_seconds", "Decode step.",
                                                 *ExponentialBuckets(0.0001, 2, 12));
  step->WithLabels({}).Observe(0.00123);
  return registry.Render();
}

TEST(PromtoolTest, RenderedTextPassesCheckMetrics) {
  if (!HavePromtool()) GTEST_SKIP() << "promtool not installed (scripts/setup.sh installs it)";
  std::string output;
  std::string text = ServiceLikeText();
  EXPECT_EQ(CheckMetrics(text, &output), 0) << output << "\n--- input ---\n" << text;
}

// Guards against a promtool that accepts everything: broken text must fail.
TEST(PromtoolTest, BrokenTextFailsCheckMetrics) {
  if (!HavePromtool()) GTEST_SKIP() << "promtool not installed (scripts/setup.sh installs it)";
  std::string output;
  EXPECT_NE(CheckMetrics("# TYPE x counter\nx{a=\"b} 1\n", &output), 0) << output;
  EXPECT_NE(CheckMetrics("# HELP llmw_g Gauge.\n# TYPE llmw_g counter\nllmw_g 1\n", &output), 0)
      << output;
}

}  // namespace
}  // namespace llmw::metrics
