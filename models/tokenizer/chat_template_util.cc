// Helpers shared by the chat template families.
#include "models/tokenizer/chat_template_util.h"

#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "models/tokenizer/unicode.h"

namespace llmw::chat {
namespace {

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Decodes the string literal whose opening quote is text[*i]; leaves *i past it.
std::string ReadLiteral(std::string_view text, size_t* i) {
  const char quote = text[*i];
  std::string value;
  size_t j = *i + 1;
  while (j < text.size() && text[j] != quote) {
    if (text[j] != '\\' || j + 1 == text.size()) {
      value += text[j++];
      continue;
    }
    const char e = text[j + 1];
    switch (e) {
      case 'n':
        value += '\n';
        break;
      case 't':
        value += '\t';
        break;
      case 'r':
        value += '\r';
        break;
      case '\\':
      case '\'':
      case '"':
        value += e;
        break;
      default:
        value += '\\';
        value += e;
    }
    j += 2;
  }
  *i = j + 1;
  return value;
}

// Writes the rest of the tag that starts at text[*i] (just past "{{" or "{%")
// in canonical form; `close` is '}' or '%'.
void CanonicalTag(std::string_view text, char close, size_t* i, std::string* out) {
  size_t j = *i;
  if (j < text.size() && (text[j] == '-' || text[j] == '+')) ++j;
  bool space = false;
  while (j < text.size()) {
    const char c = text[j];
    const bool closes_next = j + 2 < text.size() && text[j + 1] == close && text[j + 2] == '}';
    if ((c == '-' || c == '+') && closes_next) {
      ++j;
      continue;
    }
    if (c == close && j + 1 < text.size() && text[j + 1] == '}') {
      Append(out, std::string{close, '}'});
      j += 2;
      break;
    }
    if (IsSpace(c)) {
      space = true;
      ++j;
      continue;
    }
    if (space && !out->empty() && IsWordChar(out->back()) && IsWordChar(c)) *out += ' ';
    space = false;
    if (c == '\'' || c == '"') {
      const std::string value = ReadLiteral(text, &j);
      *out += '\'';
      for (char v : value) {
        if (v == '\'' || v == '\\') *out += '\\';
        *out += v;
      }
      *out += '\'';
      continue;
    }
    *out += c;
    ++j;
  }
  *i = j;
}

bool IsPythonSpace(char32_t cp) { return IsWhitespace(cp) || (cp >= 0x1C && cp <= 0x1F); }

// The length of the whitespace character that starts `s`, or 0.
size_t SpaceLength(std::string_view s) {
  const int len = Utf8CharLength(s);
  if (len <= 0) return 0;
  size_t decoded = 0;
  const char32_t cp = DecodeUtf8Lenient(s.substr(0, len), &decoded);
  return IsPythonSpace(cp) ? static_cast<size_t>(len) : 0;
}

}  // namespace

std::string Canonical(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const std::string_view two = text.substr(i, 2);
    if (two == "{#") {
      const size_t end = text.find("#}", i + 2);
      i = end == std::string_view::npos ? text.size() : end + 2;
    } else if (two == "{{" || two == "{%") {
      Append(&out, two);
      i += 2;
      CanonicalTag(text, two[1] == '{' ? '}' : '%', &i, &out);
    } else {
      out += text[i++];
    }
  }
  return absl::StrReplaceAll(
      out, {{"message.role", "message['role']"}, {"message.content", "message['content']"}});
}

std::optional<std::string> LiteralStartingWith(std::string_view canonical, std::string_view prefix,
                                               size_t from, size_t* end) {
  const size_t start = canonical.find(prefix, from);
  if (start == std::string_view::npos) return std::nullopt;
  std::string value;
  size_t j = start + 1;
  while (j < canonical.size() && canonical[j] != '\'') {
    if (canonical[j] == '\\' && j + 1 < canonical.size()) ++j;
    value += canonical[j++];
  }
  if (end != nullptr) *end = j + 1;
  return value;
}

size_t Occurrences(std::string_view text, std::string_view marker) {
  size_t n = 0;
  for (size_t at = text.find(marker); at != text.npos; at = text.find(marker, at + 1)) ++n;
  return n;
}

std::string_view PyStrip(std::string_view s) {
  while (!s.empty()) {
    const size_t len = SpaceLength(s);
    if (len == 0) break;
    s.remove_prefix(len);
  }
  while (!s.empty()) {
    // The last character starts at the last byte that is not a continuation byte.
    size_t start = s.size() - 1;
    while (start > 0 && s.size() - start < 4 &&
           (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) {
      --start;
    }
    if (SpaceLength(s.substr(start)) != s.size() - start) break;
    s.remove_suffix(s.size() - start);
  }
  return s;
}

absl::Status Refused(std::string_view exception_text) {
  return absl::InvalidArgumentError(absl::StrCat(
      "the model's chat template refuses this conversation: ", std::string(exception_text)));
}

absl::Status UnsupportedRole(std::string_view role, std::string_view family) {
  return absl::InvalidArgumentError(absl::StrCat("role '", std::string(role),
                                                 "' is not supported with the ",
                                                 std::string(family), " chat template"));
}

std::string LocalDate() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  const size_t n = std::strftime(text, sizeof(text), "%d %b %Y", &local);
  return std::string(text, n);
}

}  // namespace llmw::chat
