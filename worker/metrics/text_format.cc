// Number spelling and escaping for the Prometheus text format.
#include "worker/metrics/text_format.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace llmw::metrics {

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // 2^53: every integer up to here is exact, so the integer spelling is too.
  constexpr double kExactIntLimit = 9007199254740992.0;
  if (v == std::trunc(v) && std::fabs(v) < kExactIntLimit) {
    if (v == 0) return "0";  // also maps -0 to "0"
    return std::to_string(static_cast<int64_t>(v));
  }
  // Shortest round-trip digits; fixed notation unless the number is tiny or
  // huge, like Go's %g which Prometheus clients use (le="0.0001", "1e-05").
  char buf[64];
  auto [sci_end, sci_ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  if (sci_ec != std::errc()) {
    std::snprintf(buf, sizeof(buf), "%.17g", v);
    return buf;
  }
  std::string scientific(buf, sci_end);
  const int exponent = std::atoi(scientific.c_str() + scientific.find('e') + 1);
  if (exponent < -4 || std::fabs(v) >= kExactIntLimit) return scientific;
  auto [fixed_end, fixed_ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  if (fixed_ec != std::errc()) return scientific;
  return std::string(buf, fixed_end);
}

std::string FormatValue(uint64_t v) { return std::to_string(v); }

std::string EscapeHelp(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = IsAlpha(c) || c == '_' || c == ':' || (i > 0 && IsDigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = IsAlpha(c) || c == '_' || (i > 0 && IsDigit(c));
    if (!ok) return false;
  }
  return true;
}

}  // namespace llmw::metrics
