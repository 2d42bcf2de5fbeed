// Pieces of the Prometheus text exposition format 0.0.4: number spelling and
// the escaping of HELP text and label values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace llmw::metrics {

// Integral values below 2^53 in magnitude print as plain integers ("3",
// "-2"); other finite values print with the fewest digits that read back to
// the same double, in fixed notation ("0.25", "0.0001") unless below 1e-4 or
// above 2^53 ("1e-05", "1e+20"); specials print as "NaN", "+Inf" and "-Inf".
std::string FormatValue(double v);
std::string FormatValue(uint64_t v);

// HELP text: backslash and newline are escaped.
std::string EscapeHelp(std::string_view text);

// Label values: backslash, double quote and newline are escaped.
std::string EscapeLabelValue(std::string_view value);

// Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]* and must not start with "__" (reserved).
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

}  // namespace llmw::metrics
