// Text and JSON log lines.
#include "worker/service/logger.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace llmw {
namespace {

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

std::string ValueText(const LogField& field, LogFormat format) {
  if (const auto* s = std::get_if<std::string_view>(&field.value)) {
    if (format == LogFormat::kText) return std::string(*s);
    std::string out;
    AppendJsonString(*s, &out);
    return out;
  }
  if (const auto* i = std::get_if<int64_t>(&field.value)) return absl::StrCat(*i);
  return absl::StrFormat("%.6g", std::get<double>(field.value));
}

}  // namespace

std::string Logger::Format(std::string_view level, std::string_view event,
                           std::initializer_list<LogField> fields) const {
  std::string line;
  if (format_ == LogFormat::kText) {
    line = "llm-worker: ";
    if (level != "info") line.append(level).append(": ");
    line.append(event);
    for (const LogField& f : fields) {
      line.append(" ").append(f.key).append("=").append(ValueText(f, format_));
    }
    return line;
  }
  const std::string time =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  line.append("{\"time\":\"").append(time).append("\",\"level\":\"").append(level);
  line.append("\",\"event\":");
  AppendJsonString(event, &line);
  for (const LogField& f : fields) {
    line += ",";
    AppendJsonString(f.key, &line);
    line.append(":").append(ValueText(f, format_));
  }
  line += "}";
  return line;
}

void Logger::Write(std::string_view level, std::string_view event,
                   std::initializer_list<LogField> fields) {
  const std::string line = Format(level, event, fields) + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
}

}  // namespace llmw
