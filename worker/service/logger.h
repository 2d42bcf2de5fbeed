// One line per event on stderr: `llm-worker: event key=value ...` as text, or
// one JSON object per line (--log-format json) for log collectors. Whatever
// the text (a client's request id, an error that quotes a client's input), a
// line stays one line: control characters and invalid UTF-8 are escaped, and
// text values with spaces or quotes are quoted. Thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>

namespace llmw {

enum class LogFormat { kText, kJson };

struct LogField {
  std::string_view key;
  std::variant<std::string_view, int64_t, double> value;
};

class Logger {
 public:
  explicit Logger(LogFormat format, std::FILE* out = stderr) : format_(format), out_(out) {}

  void Info(std::string_view event, std::initializer_list<LogField> fields = {}) {
    Write("info", event, fields);
  }
  void Warning(std::string_view event, std::initializer_list<LogField> fields = {}) {
    Write("warning", event, fields);
  }
  void Error(std::string_view event, std::initializer_list<LogField> fields = {}) {
    Write("error", event, fields);
  }

  // The line Write would print (without the newline), for tests.
  std::string Format(std::string_view level, std::string_view event,
                     std::initializer_list<LogField> fields) const;

 private:
  void Write(std::string_view level, std::string_view event,
             std::initializer_list<LogField> fields);

  const LogFormat format_;
  std::FILE* const out_;
  std::mutex mu_;
};

}  // namespace llmw
