// Number spelling, escaping and name rules of the text exposition format.
#include "worker/metrics/text_format.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace llmw::metrics {
namespace {

TEST(MetricsFormatValueTest, IntegralValuesHaveNoExponent) {
  EXPECT_EQ(FormatValue(0.0), "0");
  EXPECT_EQ(FormatValue(-0.0), "0");
  EXPECT_EQ(FormatValue(3.0), "3");
  EXPECT_EQ(FormatValue(-2.0), "-2");
  EXPECT_EQ(FormatValue(1e6), "1000000");
  EXPECT_EQ(FormatValue(123456789012.0), "123456789012");
  EXPECT_EQ(FormatValue(uint64_t{18446744073709551615u}), "18446744073709551615");
}

TEST(MetricsFormatValueTest, FractionsRoundTrip) {
  EXPECT_EQ(FormatValue(0.5), "0.5");
  EXPECT_EQ(FormatValue(0.001), "0.001");
  EXPECT_EQ(FormatValue(-1.25), "-1.25");
  EXPECT_EQ(FormatValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
  EXPECT_EQ(FormatValue(1e-7), "1e-07");
  EXPECT_EQ(FormatValue(1e-4), "0.0001");
  EXPECT_EQ(FormatValue(1.5e-4), "0.00015");
  EXPECT_EQ(FormatValue(1e-5), "1e-05");
  EXPECT_EQ(FormatValue(123456.5), "123456.5");
  EXPECT_EQ(FormatValue(-3e-300), "-3e-300");
}

TEST(MetricsFormatValueTest, SpecialValues) {
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(MetricsEscapeTest, Help) {
  EXPECT_EQ(EscapeHelp("plain \"quoted\""), "plain \"quoted\"");
  EXPECT_EQ(EscapeHelp("a\\b\nc"), "a\\\\b\\nc");
}

TEST(MetricsEscapeTest, LabelValue) {
  EXPECT_EQ(EscapeLabelValue("smollm2"), "smollm2");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

TEST(MetricsNameTest, MetricNames) {
  EXPECT_TRUE(IsValidMetricName("llmw_requests_total"));
  EXPECT_TRUE(IsValidMetricName("ns:sub_metric"));
  EXPECT_TRUE(IsValidMetricName("_x9"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("9lives"));
  EXPECT_FALSE(IsValidMetricName("has-dash"));
  EXPECT_FALSE(IsValidMetricName("has space"));
}

TEST(MetricsNameTest, LabelNames) {
  EXPECT_TRUE(IsValidLabelName("model"));
  EXPECT_TRUE(IsValidLabelName("_x1"));
  EXPECT_FALSE(IsValidLabelName("__reserved"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("1a"));
  EXPECT_FALSE(IsValidLabelName(""));
}

}  // namespace
}  // namespace llmw::metrics
