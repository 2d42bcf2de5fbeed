// UTF-8 coding and code point classes for the tokenizers.
#include "models/tokenizer/unicode.h"

#include <utf8proc.h>

#include <algorithm>

namespace llmw {

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

char32_t DecodeUtf8Lenient(std::string_view s, size_t* len) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  *len = 1;
  if (b0 < 0x80) return b0;
  size_t n;
  char32_t cp;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07;
  } else {
    return kInvalidCodePoint;  // a continuation byte or 0xF8..0xFF
  }
  if (s.size() < n) return kInvalidCodePoint;
  for (size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return kInvalidCodePoint;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp > 0x10FFFF) return kInvalidCodePoint;
  *len = n;
  return cp;
}

namespace {

// How many bytes at the start of non-empty `s` begin a strict UTF-8
// character: its lead byte and the continuation bytes that fit it, at most
// the whole character (*length bytes); 0 with *length = 0 when s[0] is no
// lead byte.
int MatchedUtf8Prefix(std::string_view s, int* length) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  *length = 0;
  if (b0 < 0x80) {
    *length = 1;
    return 1;
  }
  // The allowed range of the second byte excludes overlong forms, surrogates and > U+10FFFF.
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    *length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    *length = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    *length = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (int i = 1; i < *length; ++i) {
    if (static_cast<size_t>(i) >= s.size()) return i;
    const auto b = static_cast<unsigned char>(s[i]);
    if (i == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) return i;
  }
  return *length;
}

}  // namespace

int Utf8CharLength(std::string_view s) {
  int length = 0;
  const int matched = MatchedUtf8Prefix(s, &length);
  if (length == 0) return 0;
  if (matched == length) return length;
  return static_cast<size_t>(matched) == s.size() ? -1 : 0;
}

int Utf8InvalidPrefixLength(std::string_view s) {
  int length = 0;
  return std::max(MatchedUtf8Prefix(s, &length), 1);
}

bool CleanUtf8ForEncoding(std::string_view text, std::string* out) {
  size_t valid = 0;
  while (valid < text.size()) {
    const int n = Utf8CharLength(text.substr(valid));
    if (n <= 0) break;
    valid += n;
  }
  if (valid == text.size()) return false;
  out->assign(text.data(), valid);
  for (size_t i = valid; i < text.size();) {
    size_t len;
    const char32_t cp = DecodeUtf8Lenient(text.substr(i), &len);
    AppendUtf8(cp == kInvalidCodePoint ? kReplacementChar : cp, out);
    i += len;
  }
  return true;
}

bool IsLetter(char32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  const utf8proc_category_t c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

bool IsNumber(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  const utf8proc_category_t c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO;
}

bool IsWhitespace(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

}  // namespace llmw
