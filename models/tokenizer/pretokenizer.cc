// The pre-tokenizer matchers. Lookaheads such as (?!\S) see only the text being split: the
// reference splits each stage's pieces (and each run between special tokens) separately.
#include "models/tokenizer/pretokenizer.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "models/tokenizer/unicode.h"

namespace llmw {
namespace {

enum : uint8_t { kLetter = 1, kNumber = 2, kSpace = 4 };

// The text as code points with their classes; positions are code point indices.
class CodePoints {
 public:
  explicit CodePoints(std::string_view text) {
    for (size_t i = 0; i < text.size();) {
      size_t len;
      char32_t cp = DecodeUtf8Lenient(text.substr(i), &len);
      if (cp == kInvalidCodePoint) cp = kReplacementChar;
      cps_.push_back(cp);
      classes_.push_back((IsLetter(cp) ? kLetter : 0) | (IsNumber(cp) ? kNumber : 0) |
                         (IsWhitespace(cp) ? kSpace : 0));
      offsets_.push_back(i);
      i += len;
    }
    offsets_.push_back(text.size());
  }

  size_t size() const { return cps_.size(); }
  size_t offset(size_t pos) const { return offsets_[pos]; }
  // Out-of-range positions read as 0 with no class, like the end of the text.
  char32_t cp(size_t pos, size_t end) const { return pos < end ? cps_[pos] : 0; }
  bool Is(size_t pos, size_t end, uint8_t cls) const { return pos < end && (classes_[pos] & cls); }
  // [^\s\p{L}\p{N}]
  bool IsOther(size_t pos, size_t end) const { return pos < end && classes_[pos] == 0; }

 private:
  std::vector<char32_t> cps_;
  std::vector<uint8_t> classes_;
  std::vector<size_t> offsets_;  // byte offset of each code point, then the text size
};

enum class Case { kExact, kAscii, kUnicode };

char32_t Lower(char32_t c, Case fold) {
  if (fold == Case::kExact) return c;
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (fold == Case::kUnicode && c == 0x17F) return 's';  // the only other fold in these words
  return c;
}

// 's|'t|'re|'ve|'m|'ll|'d at `pos`: the end of the match, or `pos` when none.
size_t MatchContraction(const CodePoints& t, size_t pos, size_t end, Case fold) {
  if (t.cp(pos, end) != '\'') return pos;
  auto at = [&](size_t p) { return Lower(t.cp(p, end), fold); };
  const char32_t a = at(pos + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return pos + 2;
  const char32_t b = at(pos + 2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return pos + 3;
  return pos;
}

// \s+(?!\S)|\s+ at whitespace `pos`, after any alternatives that come before it.
size_t MatchSpaces(const CodePoints& t, size_t pos, size_t end) {
  size_t run = pos;
  while (t.Is(run, end, kSpace)) ++run;
  // Leave the last space to start the next piece when a non-space follows.
  if (run - pos > 1 && run < end) return run - 1;
  return run;
}

size_t MatchGpt2(const CodePoints& t, size_t pos, size_t end) {
  if (size_t m = MatchContraction(t, pos, end, Case::kExact); m != pos) return m;
  const size_t p = pos + (t.cp(pos, end) == ' ' ? 1 : 0);
  for (uint8_t cls : {kLetter, kNumber}) {
    if (t.Is(p, end, cls)) {
      size_t q = p;
      while (t.Is(q, end, cls)) ++q;
      return q;
    }
  }
  if (t.IsOther(p, end)) {
    size_t q = p;
    while (t.IsOther(q, end)) ++q;
    return q;
  }
  return MatchSpaces(t, pos, end);
}

size_t MatchLlama3(const CodePoints& t, size_t pos, size_t end, size_t max_digits, Case fold) {
  if (size_t m = MatchContraction(t, pos, end, fold); m != pos) return m;
  const char32_t c = t.cp(pos, end);
  const bool newline = c == '\r' || c == '\n';
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (t.Is(pos, end, kLetter) ||
      (!newline && !t.Is(pos, end, kNumber) && t.Is(pos + 1, end, kLetter))) {
    size_t q = pos + 1;
    while (t.Is(q, end, kLetter)) ++q;
    return q;
  }
  if (t.Is(pos, end, kNumber)) {
    size_t q = pos;
    while (q - pos < max_digits && t.Is(q, end, kNumber)) ++q;
    return q;
  }
  //  ?[^\s\p{L}\p{N}]+[\r\n]*
  const size_t p = pos + (c == ' ' ? 1 : 0);
  if (t.IsOther(p, end)) {
    size_t q = p;
    while (t.IsOther(q, end)) ++q;
    while (t.cp(q, end) == '\r' || t.cp(q, end) == '\n') ++q;
    return q;
  }
  // \s*[\r\n]+ ends after the run's last newline.
  size_t after_newline = pos;
  for (size_t q = pos; t.Is(q, end, kSpace); ++q) {
    if (t.cp(q, end) == '\r' || t.cp(q, end) == '\n') after_newline = q + 1;
  }
  if (after_newline != pos) return after_newline;
  return MatchSpaces(t, pos, end);
}

size_t Match(PreTokenizer kind, const CodePoints& t, size_t pos, size_t end, Case fold) {
  switch (kind) {
    case PreTokenizer::kGpt2:
    case PreTokenizer::kSmolLm:
      return MatchGpt2(t, pos, end);
    case PreTokenizer::kLlama3:
      return MatchLlama3(t, pos, end, 3, fold);
    case PreTokenizer::kQwen2:
      return MatchLlama3(t, pos, end, 1, fold);
  }
  return end;
}

// Splits code points [begin, end) and appends the pieces.
void Split(PreTokenizer kind, Case fold, const CodePoints& t, std::string_view text, size_t begin,
           size_t end, std::vector<std::string_view>* out) {
  for (size_t pos = begin; pos < end;) {
    size_t next = Match(kind, t, pos, end, fold);
    if (next <= pos) next = pos + 1;  // every code point matches some alternative; be safe
    out->push_back(text.substr(t.offset(pos), t.offset(next) - t.offset(pos)));
    pos = next;
  }
}

}  // namespace

absl::StatusOr<PreTokenizer> PreTokenizerFromName(std::string_view name) {
  if (name == "gpt-2" || name == "phi-2") return PreTokenizer::kGpt2;
  if (name == "smollm") return PreTokenizer::kSmolLm;
  if (name == "llama-bpe" || name == "llama3") return PreTokenizer::kLlama3;
  if (name == "qwen2") return PreTokenizer::kQwen2;
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported pre-tokenizer '", std::string(name),
                   "'; supported: gpt-2, phi-2, smollm, llama-bpe, llama3, qwen2"));
}

std::optional<PreTokenizer> PreTokenizerFromRegex(std::string_view regex) {
  static constexpr std::pair<std::string_view, PreTokenizer> kKnown[] = {
      {R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
       PreTokenizer::kGpt2},
      {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|)"
       R"( ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
       PreTokenizer::kLlama3},
      {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|)"
       R"( ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
       PreTokenizer::kQwen2},
  };
  for (const auto& [text, kind] : kKnown) {
    if (regex == text) return kind;
  }
  return std::nullopt;
}

std::vector<std::string_view> PreTokenize(PreTokenizer kind, std::string_view text,
                                          bool unicode_case) {
  const CodePoints t(text);
  const Case fold = unicode_case ? Case::kUnicode : Case::kAscii;
  std::vector<std::string_view> pieces;
  if (kind != PreTokenizer::kSmolLm) {
    Split(kind, fold, t, text, 0, t.size(), &pieces);
    return pieces;
  }
  size_t begin = 0;
  for (size_t pos = 0; pos <= t.size(); ++pos) {
    if (pos < t.size() && !t.Is(pos, t.size(), kNumber)) continue;
    Split(kind, fold, t, text, begin, pos, &pieces);
    if (pos < t.size())
      pieces.push_back(text.substr(t.offset(pos), t.offset(pos + 1) - t.offset(pos)));
    begin = pos + 1;
  }
  return pieces;
}

}  // namespace llmw
