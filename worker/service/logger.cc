// Text and JSON log lines.
#include "worker/service/logger.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "models/tokenizer/unicode.h"

namespace llmw {
namespace {

// Appends `s` with every byte that a log reader could misread escaped: control
// characters, DEL and bytes that are not valid UTF-8 (`quote` also escapes '"'
// and '\\'). Valid non-ASCII characters are kept.
void AppendEscapedText(std::string_view s, bool quote, std::string* out) {
  while (!s.empty()) {
    const auto c = static_cast<unsigned char>(s[0]);
    const int n = Utf8CharLength(s);
    const bool c1_control = n == 2 && c == 0xc2 && static_cast<unsigned char>(s[1]) < 0xa0;
    if (n > 1 && !c1_control) {
      out->append(s.substr(0, n));
      s.remove_prefix(n);
      continue;
    }
    s.remove_prefix(1);
    if (c == '\n') {
      *out += "\\n";
    } else if (c == '\r') {
      *out += "\\r";
    } else if (c == '\t') {
      *out += "\\t";
    } else if (quote && (c == '"' || c == '\\')) {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      absl::StrAppendFormat(out, "\\x%02x", c);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

// A text-format value: as it is when it is one plain word, else quoted.
void AppendTextValue(std::string_view s, std::string* out) {
  const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return c > 0x20 && c < 0x7f && c != '"' && c != '=' && c != '\\';
  });
  if (plain) {
    out->append(s);
    return;
  }
  out->push_back('"');
  AppendEscapedText(s, /*quote=*/true, out);
  out->push_back('"');
}

// A JSON string; bytes that are not valid UTF-8 become U+FFFD, so that the
// line stays valid JSON whatever a client sent.
void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  while (!s.empty()) {
    const auto c = static_cast<unsigned char>(s[0]);
    const int n = Utf8CharLength(s);
    if (n > 1) {
      out->append(s.substr(0, n));
      s.remove_prefix(n);
      continue;
    }
    s.remove_prefix(1);
    if (n <= 0) {
      *out += "\\ufffd";
    } else if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '\r') {
      *out += "\\r";
    } else if (c == '\t') {
      *out += "\\t";
    } else if (c < 0x20) {
      absl::StrAppendFormat(out, "\\u%04x", c);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

void AppendValue(const LogField& field, LogFormat format, std::string* out) {
  if (const auto* s = std::get_if<std::string_view>(&field.value)) {
    if (format == LogFormat::kText) {
      AppendTextValue(*s, out);
    } else {
      AppendJsonString(*s, out);
    }
  } else if (const auto* i = std::get_if<int64_t>(&field.value)) {
    absl::StrAppend(out, *i);
  } else if (const double d = std::get<double>(field.value);
             std::isfinite(d) || format == LogFormat::kText) {
    absl::StrAppendFormat(out, "%.6g", d);
  } else {
    *out += "null";  // JSON has no NaN or infinity
  }
}

}  // namespace

std::string Logger::Format(std::string_view level, std::string_view event,
                           std::initializer_list<LogField> fields) const {
  std::string line;
  if (format_ == LogFormat::kText) {
    line = "llm-worker: ";
    if (level != "info") line.append(level).append(": ");
    AppendEscapedText(event, /*quote=*/false, &line);
    for (const LogField& f : fields) {
      line.append(" ").append(f.key).append("=");
      AppendValue(f, format_, &line);
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
    line.append(":");
    AppendValue(f, format_, &line);
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
