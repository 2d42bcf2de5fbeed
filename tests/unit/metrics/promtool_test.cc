// Runs `promtool check metrics` (parser and linter of the Prometheus
// project) over the exposition of the worker's bucket layouts and process
// metrics as prometheus-cpp writes them. Skipped when promtool is not
// installed; scripts/setup.sh installs it.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "worker/metrics/buckets.h"
#include "worker/metrics/process_metrics.h"

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
  auto registry = std::make_shared<prometheus::Registry>();
  auto& requests = prometheus::BuildCounter()
                       .Name("llmw_requests_total")
                       .Help("Finished requests by reason.")
                       .Register(*registry);
  requests.Add({{"model", "smollm2"}, {"reason", "stop"}}).Increment(3);
  requests.Add({{"model", "odd \"model\"\\name\n"}, {"reason", "stop"}}).Increment();
  auto& ttft = prometheus::BuildHistogram()
                   .Name("llmw_time_to_first_token_seconds")
                   .Help("Time to first token.")
                   .Register(*registry);
  for (double v : {0.0004, 0.003, 0.02, 1.5, 100.0}) {
    ttft.Add({{"model", "smollm2"}}, LatencyBuckets()).Observe(v);
  }
  prometheus::BuildHistogram()
      .Name("llmw_prompt_length_tokens")
      .Help("Prompt tokens per request.")
      .Register(*registry)
      .Add({{"model", "smollm2"}}, TokenCountBuckets())
      .Observe(17);
  std::vector<prometheus::MetricFamily> families = registry->Collect();
  for (prometheus::MetricFamily& f : ProcessCollector("0.1.0").Collect()) families.push_back(f);
  return prometheus::TextSerializer().Serialize(families);
}

// The bucket layouts the README documents, spelled exactly in the le labels.
TEST(PromtoolTest, BucketLabelsAreExactDecimals) {
  const std::string text = ServiceLikeText();
  for (const char* le : {"0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5",
                         "1", "2", "5", "10", "20", "30", "60", "+Inf"}) {
    const std::string line =
        std::string("llmw_time_to_first_token_seconds_bucket{model=\"smollm2\",le=\"") + le +
        "\"} ";
    EXPECT_NE(text.find(line), std::string::npos) << le << "\n" << text;
  }
  EXPECT_NE(text.find("llmw_prompt_length_tokens_bucket{model=\"smollm2\",le=\"32768\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("llmw_prompt_length_tokens_bucket{model=\"smollm2\",le=\"16\"} 0"),
            std::string::npos);
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
