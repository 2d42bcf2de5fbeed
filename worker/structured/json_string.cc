// JSON string characters and the string formats' patterns.
#include "worker/structured/json_string.h"

#include "absl/strings/str_format.h"
#include "models/tokenizer/unicode.h"

namespace llmw::structured {
namespace {

// Calendar dates without year 0000 (Python's date has none) and without February 29 (which only
// leap years have).
constexpr char kDate[] =
    "(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)-"
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|"
    "02-(?:0[1-9]|1[0-9]|2[0-8]))";
// RFC 3339 full-time: an offset is required; no leap second.
constexpr char kTime[] =
    "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?"
    "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";

}  // namespace

std::string JsonStringChar(uint32_t c) {
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      break;
  }
  if (c < 0x20) return absl::StrFormat("\\u%04x", c);
  std::string out;
  AppendUtf8(c, &out);
  return out;
}

GrammarItem JsonCharItems::Of(const CodePointSet& set) {
  static const CodePointSet kEscaped = CodePointSet({{0, 0x1F}, {'"', '"'}, {'\\', '\\'}});
  const CodePointSet escaped = set.Intersect(kEscaped);
  if (escaped.empty()) return GrammarItem::Chars(set);
  // The escapes get a rule of their own, shared by all sets with the same escaped characters
  // (most sets that have any have all of them).
  auto [escapes, new_escapes] = rules_.try_emplace(escaped, 0);
  if (new_escapes) {
    escapes->second = builder_.NewRule("escape");
    for (const auto& [lo, hi] : escaped.ranges()) {
      for (uint32_t c = lo; c <= hi; ++c) {
        builder_.Add(escapes->second, {GrammarItem::Literal(JsonStringChar(c))});
      }
    }
  }
  const CodePointSet raw = set.Minus(kEscaped);
  if (raw.empty()) return GrammarItem::Rule(escapes->second);
  const uint32_t escape_rule = escapes->second;
  auto [both, new_both] = rules_.try_emplace(set, 0);
  if (new_both) {
    both->second = builder_.NewRule("char");
    builder_.Add(both->second, {GrammarItem::Chars(raw)});
    builder_.Add(both->second, {GrammarItem::Rule(escape_rule)});
  }
  return GrammarItem::Rule(both->second);
}

std::string_view FormatPattern(std::string_view format) {
  static const std::string kDateTime = std::string(kDate) + "T" + kTime;
  if (format == "date") return kDate;
  if (format == "time") return kTime;
  if (format == "date-time") return kDateTime;
  if (format == "uuid") {
    return "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
  }
  if (format == "email") {
    // Bounded to at most 96 characters, so that a sampling model finishes the address.
    return "[A-Za-z0-9][A-Za-z0-9._%+-]{0,31}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,14}[A-Za-z0-9])?\\.)"
           "{1,3}[A-Za-z]{2,12}";
  }
  if (format == "ipv4") {
    return "(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}"
           "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
  }
  return {};
}

}  // namespace llmw::structured
