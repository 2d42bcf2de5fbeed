// The grammar notation's parser and compiler: text to Grammar, with line:column errors.
#include <algorithm>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "worker/structured/code_points.h"
#include "worker/structured/grammar.h"

namespace llmw::structured {
namespace {

constexpr uint32_t kSurrogateFirst = 0xD800;
constexpr uint32_t kSurrogateLast = 0xDFFF;
constexpr uint32_t kUnbounded = UINT32_MAX;  // x* and x{m,}

using Range = Grammar::Range;
using Sequence = std::vector<Element>;

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Sorted, merged, without surrogates; the complement over all code points when `negate`.
std::vector<Range> NormalizeRanges(std::vector<Range> in, bool negate) {
  const CodePointSet set(std::move(in));
  return negate ? set.Complement().ranges() : set.ranges();
}

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::shared_ptr<const Grammar>> Run();

 private:
  struct Rule {
    std::string name;  // empty for the rules repetition and groups add
    std::vector<Sequence> alternatives;
    bool defined = false;
    size_t at = 0;  // where it is defined (or first used, until defined)
  };

  absl::Status Error(size_t at, absl::string_view what) const;
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void SkipSpace();
  absl::string_view ParseName();
  bool AtRuleStart();

  uint32_t RuleId(absl::string_view name, size_t at);
  absl::StatusOr<uint32_t> NewRule(size_t at);
  absl::Status CountElements(size_t n, size_t at);

  absl::Status ParseAlternatives(std::vector<Sequence>* out, bool nested);
  absl::Status ParseSequence(Sequence* out, bool nested);
  absl::Status ParseItem(Sequence* item);
  absl::Status ParseLiteral(Sequence* item);
  absl::Status ParseClass(Sequence* item);
  absl::Status ParseGroup(Sequence* item);
  absl::Status ParseRepetition(Sequence* item);
  absl::StatusOr<uint32_t> ParseChar(size_t literal_at, absl::string_view what);
  absl::StatusOr<uint32_t> ParseBound(size_t open_at);

  Element Chars(std::vector<Range> ranges, bool negate);
  absl::Status CheckLeftRecursion() const;
  std::shared_ptr<const Grammar> Flatten() const;

  absl::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
  size_t element_count_ = 0;
  size_t named_rules_ = 0;
  std::vector<Rule> rules_;
  absl::flat_hash_map<std::string, uint32_t> ids_;
  std::vector<Range> ranges_;
};

absl::Status Parser::Error(size_t at, absl::string_view what) const {
  int line = 1, column = 1;
  for (size_t i = 0; i < at && i < text_.size(); ++i) {
    if (text_[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("grammar: ", what, " at ", line, ":", column));
}

void Parser::SkipSpace() {
  while (!AtEnd()) {
    const char c = text_[pos_];
    if (c == '#') {
      while (!AtEnd() && text_[pos_] != '\n') ++pos_;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++pos_;
    } else {
      return;
    }
  }
}

absl::string_view Parser::ParseName() {
  const size_t begin = pos_;
  while (!AtEnd() && IsNameChar(text_[pos_])) ++pos_;
  return text_.substr(begin, pos_ - begin);
}

bool Parser::AtRuleStart() {
  const size_t saved = pos_;
  const bool found = !ParseName().empty() && (SkipSpace(), text_.substr(pos_, 3) == "::=");
  pos_ = saved;
  return found;
}

uint32_t Parser::RuleId(absl::string_view name, size_t at) {
  auto [it, inserted] = ids_.try_emplace(name, static_cast<uint32_t>(rules_.size()));
  if (inserted) {
    Rule rule;
    rule.name = std::string(name);
    rule.at = at;
    rules_.push_back(std::move(rule));
    ++named_rules_;
  }
  return it->second;
}

absl::StatusOr<uint32_t> Parser::NewRule(size_t at) {
  if (rules_.size() >= kMaxCompiledRules) {
    return Error(at, absl::StrCat("grammar needs more than ", kMaxCompiledRules,
                                  " rules with its groups and repetitions"));
  }
  Rule rule;
  rule.defined = true;
  rule.at = at;
  rules_.push_back(std::move(rule));
  return static_cast<uint32_t>(rules_.size() - 1);
}

absl::Status Parser::CountElements(size_t n, size_t at) {
  element_count_ += n;
  if (element_count_ > kMaxCompiledElements) {
    return Error(at,
                 absl::StrCat("grammar expands to more than ", kMaxCompiledElements, " elements"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Grammar>> Parser::Run() {
  if (text_.size() > kMaxGrammarBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("grammar: ", text_.size(), " bytes, over the limit of ", kMaxGrammarBytes));
  }
  SkipSpace();
  if (AtEnd()) return Error(pos_, "empty grammar");
  while (!AtEnd()) {
    const size_t at = pos_;
    const absl::string_view name = ParseName();
    if (name.empty()) return Error(at, "expected a rule name");
    SkipSpace();
    if (text_.substr(pos_, 3) != "::=") {
      return Error(pos_, absl::StrCat("expected '::=' after rule name '", name, "'"));
    }
    pos_ += 3;
    const uint32_t id = RuleId(name, at);
    if (rules_[id].defined) return Error(at, absl::StrCat("rule '", name, "' is defined twice"));
    if (named_rules_ > kMaxRules) {
      return Error(at, absl::StrCat("more than ", kMaxRules, " rules"));
    }
    rules_[id].defined = true;
    rules_[id].at = at;
    std::vector<Sequence> alternatives;
    if (absl::Status s = ParseAlternatives(&alternatives, /*nested=*/false); !s.ok()) return s;
    rules_[id].alternatives = std::move(alternatives);
    SkipSpace();
  }
  for (const Rule& rule : rules_) {
    if (!rule.defined) return Error(rule.at, absl::StrCat("undefined rule '", rule.name, "'"));
  }
  if (!ids_.contains("root")) return Error(0, "no rule named 'root'");
  if (absl::Status s = CheckLeftRecursion(); !s.ok()) return s;
  return Flatten();
}

absl::Status Parser::ParseAlternatives(std::vector<Sequence>* out, bool nested) {
  while (true) {
    Sequence sequence;
    if (absl::Status s = ParseSequence(&sequence, nested); !s.ok()) return s;
    out->push_back(std::move(sequence));
    SkipSpace();
    if (Peek() != '|') return absl::OkStatus();
    ++pos_;
  }
}

absl::Status Parser::ParseSequence(Sequence* out, bool nested) {
  while (true) {
    SkipSpace();
    if (AtEnd() || Peek() == '|') return absl::OkStatus();
    if (Peek() == ')') return nested ? absl::OkStatus() : Error(pos_, "unmatched ')'");
    if (AtRuleStart()) return absl::OkStatus();
    Sequence item;
    if (absl::Status s = ParseItem(&item); !s.ok()) return s;
    while (true) {
      SkipSpace();
      const char c = Peek();
      if (c != '*' && c != '+' && c != '?' && c != '{') break;
      if (absl::Status s = ParseRepetition(&item); !s.ok()) return s;
    }
    out->insert(out->end(), item.begin(), item.end());
  }
}

absl::Status Parser::ParseItem(Sequence* item) {
  const size_t at = pos_;
  const char c = Peek();
  if (c == '"') return ParseLiteral(item);
  if (c == '[') return ParseClass(item);
  if (c == '(') return ParseGroup(item);
  if (c == '.') {
    ++pos_;
    item->push_back(Chars({{0, kMaxCodePoint}}, /*negate=*/false));
    return CountElements(1, at);
  }
  if (IsNameChar(c)) {
    const absl::string_view name = ParseName();
    item->push_back({Element::Kind::kRule, RuleId(name, at), 0});
    if (named_rules_ > kMaxRules) return Error(at, absl::StrCat("more than ", kMaxRules, " rules"));
    return CountElements(1, at);
  }
  if (c == '*' || c == '+' || c == '?' || c == '{') {
    return Error(at, absl::StrCat("'", std::string(1, c), "' with nothing to repeat"));
  }
  if (c == ':' && text_.substr(pos_, 3) == "::=") return Error(at, "'::=' without a rule name");
  return Error(at, absl::StrCat("unexpected character '", std::string(1, c), "'"));
}

absl::StatusOr<uint32_t> Parser::ParseChar(size_t literal_at, absl::string_view what) {
  if (AtEnd() || text_[pos_] == '\n') return Error(literal_at, absl::StrCat("unterminated ", what));
  const size_t at = pos_;
  const auto byte = static_cast<uint8_t>(text_[pos_]);
  if (byte == '\\') {
    ++pos_;
    if (AtEnd()) return Error(literal_at, absl::StrCat("unterminated ", what));
    const char e = text_[pos_++];
    switch (e) {
      case 'n':
        return uint32_t{'\n'};
      case 't':
        return uint32_t{'\t'};
      case 'r':
        return uint32_t{'\r'};
      case '\\':
      case '"':
      case '\'':
      case '[':
      case ']':
      case '-':
      case '/':
      case '^':
        return static_cast<uint32_t>(e);
      case 'x':
      case 'u':
      case 'U': {
        const int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t value = 0;
        for (int i = 0; i < digits; ++i) {
          const int h = pos_ < text_.size() ? HexValue(text_[pos_]) : -1;
          if (h < 0) {
            return Error(at, absl::StrCat("bad escape: \\", std::string(1, e), " needs ", digits,
                                          " hex digits"));
          }
          value = value * 16 + static_cast<uint32_t>(h);
          ++pos_;
        }
        if (value > kMaxCodePoint || (value >= kSurrogateFirst && value <= kSurrogateLast)) {
          return Error(at, "bad escape: not a Unicode scalar value");
        }
        return value;
      }
      default:
        return Error(at, absl::StrCat("bad escape '\\", std::string(1, e), "'"));
    }
  }
  // A UTF-8 character of the grammar text.
  const int length = byte < 0x80           ? 1
                     : (byte >> 5) == 0x6  ? 2
                     : (byte >> 4) == 0xE  ? 3
                     : (byte >> 3) == 0x1E ? 4
                                           : 0;
  if (length == 0 || pos_ + length > text_.size()) return Error(at, "invalid UTF-8");
  uint32_t value = length == 1 ? byte : byte & (0x7F >> length);
  for (int i = 1; i < length; ++i) {
    const auto next = static_cast<uint8_t>(text_[pos_ + i]);
    if ((next & 0xC0) != 0x80) return Error(at, "invalid UTF-8");
    value = (value << 6) | (next & 0x3F);
  }
  static constexpr uint32_t kMinValue[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < kMinValue[length] || value > kMaxCodePoint ||
      (value >= kSurrogateFirst && value <= kSurrogateLast)) {
    return Error(at, "invalid UTF-8");
  }
  pos_ += length;
  return value;
}

absl::Status Parser::ParseLiteral(Sequence* item) {
  const size_t at = pos_++;
  while (Peek() != '"' || AtEnd()) {
    absl::StatusOr<uint32_t> c = ParseChar(at, "literal");
    if (!c.ok()) return c.status();
    item->push_back(Chars({{*c, *c}}, /*negate=*/false));
  }
  ++pos_;
  return CountElements(item->size(), at);
}

absl::Status Parser::ParseClass(Sequence* item) {
  const size_t at = pos_++;
  const bool negate = Peek() == '^';
  if (negate) ++pos_;
  std::vector<Range> ranges;
  while (Peek() != ']' || AtEnd()) {
    const size_t range_at = pos_;
    absl::StatusOr<uint32_t> first = ParseChar(at, "character class");
    if (!first.ok()) return first.status();
    uint32_t last = *first;
    if (Peek() == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] != ']') {
      ++pos_;
      absl::StatusOr<uint32_t> end = ParseChar(at, "character class");
      if (!end.ok()) return end.status();
      if (*end < *first) return Error(range_at, "character range out of order");
      last = *end;
    }
    ranges.push_back({*first, last});
  }
  ++pos_;
  if (ranges.empty()) return Error(at, "empty character class");
  item->push_back(Chars(std::move(ranges), negate));
  return CountElements(1, at);
}

absl::Status Parser::ParseGroup(Sequence* item) {
  const size_t at = pos_++;
  if (++depth_ > kMaxNesting) {
    return Error(at, absl::StrCat("groups nested deeper than ", kMaxNesting));
  }
  std::vector<Sequence> alternatives;
  if (absl::Status s = ParseAlternatives(&alternatives, /*nested=*/true); !s.ok()) return s;
  if (Peek() != ')') return Error(at, "unterminated group");
  ++pos_;
  --depth_;
  if (alternatives.size() == 1) {
    *item = std::move(alternatives[0]);
    return absl::OkStatus();
  }
  absl::StatusOr<uint32_t> id = NewRule(at);
  if (!id.ok()) return id.status();
  rules_[*id].alternatives = std::move(alternatives);
  item->push_back({Element::Kind::kRule, *id, 0});
  return CountElements(1, at);
}

absl::StatusOr<uint32_t> Parser::ParseBound(size_t open_at) {
  SkipSpace();
  const size_t at = pos_;
  uint64_t value = 0;
  while (!AtEnd() && text_[pos_] >= '0' && text_[pos_] <= '9') {
    value = value * 10 + static_cast<uint64_t>(text_[pos_++] - '0');
    if (value > kMaxRepetition) {
      return Error(at, absl::StrCat("repetition bound over the limit of ", kMaxRepetition));
    }
  }
  if (pos_ == at) {
    return AtEnd() ? Error(open_at, "unterminated repetition bounds")
                   : Error(at, "expected a number in repetition bounds");
  }
  SkipSpace();
  return static_cast<uint32_t>(value);
}

absl::Status Parser::ParseRepetition(Sequence* item) {
  const size_t at = pos_;
  const char op = text_[pos_++];
  uint32_t min = op == '+' ? 1 : 0;
  uint32_t max = op == '?' ? 1 : kUnbounded;
  if (op == '{') {
    absl::StatusOr<uint32_t> m = ParseBound(at);
    if (!m.ok()) return m.status();
    min = max = *m;
    if (Peek() == ',') {
      ++pos_;
      SkipSpace();
      max = kUnbounded;
      if (Peek() != '}') {
        absl::StatusOr<uint32_t> n = ParseBound(at);
        if (!n.ok()) return n.status();
        max = *n;
      }
    }
    if (Peek() != '}') {
      return AtEnd() ? Error(at, "unterminated repetition bounds")
                     : Error(pos_, "expected '}' in repetition bounds");
    }
    ++pos_;
    if (max < min) {
      return Error(at, absl::StrCat("repetition bounds {", min, ",", max,
                                    "}: the minimum exceeds the maximum"));
    }
  }
  if (item->size() != 1) {
    absl::StatusOr<uint32_t> id = NewRule(at);
    if (!id.ok()) return id.status();
    rules_[*id].alternatives = {std::move(*item)};
    *item = {{Element::Kind::kRule, *id, 0}};
    if (absl::Status s = CountElements(1, at); !s.ok()) return s;
  }
  const Element repeated = (*item)[0];
  const size_t optional_count = max == kUnbounded ? 1 : max - min;
  if (absl::Status s = CountElements(min + 2 * optional_count + 1, at); !s.ok()) return s;
  Sequence out(min, repeated);
  if (max == kUnbounded) {
    // tail ::= repeated tail | ""
    absl::StatusOr<uint32_t> tail = NewRule(at);
    if (!tail.ok()) return tail.status();
    const Element self{Element::Kind::kRule, *tail, 0};
    rules_[*tail].alternatives = {{repeated, self}, {}};
    out.push_back(self);
  } else if (max > min) {
    // up_to_k ::= repeated up_to_(k-1) | "", so each optional copy is one rule deep.
    std::optional<Element> previous;
    for (uint32_t k = 0; k < max - min; ++k) {
      absl::StatusOr<uint32_t> id = NewRule(at);
      if (!id.ok()) return id.status();
      Sequence first = {repeated};
      if (previous) first.push_back(*previous);
      rules_[*id].alternatives = {std::move(first), {}};
      previous = Element{Element::Kind::kRule, *id, 0};
    }
    out.push_back(*previous);
  }
  *item = std::move(out);
  return absl::OkStatus();
}

Element Parser::Chars(std::vector<Range> ranges, bool negate) {
  const std::vector<Range> normalized = NormalizeRanges(std::move(ranges), negate);
  const auto begin = static_cast<uint32_t>(ranges_.size());
  ranges_.insert(ranges_.end(), normalized.begin(), normalized.end());
  return {Element::Kind::kChars, begin, static_cast<uint32_t>(normalized.size())};
}

// Left recursion would make the matcher expand a rule into itself forever: find a rule that
// reaches itself through leading references that can all match the empty string.
absl::Status Parser::CheckLeftRecursion() const {
  const size_t n = rules_.size();
  std::vector<uint8_t> nullable(n, 0);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < n; ++r) {
      if (nullable[r]) continue;
      for (const Sequence& alternative : rules_[r].alternatives) {
        const bool empty = std::all_of(
            alternative.begin(), alternative.end(),
            [&](const Element& e) { return e.kind == Element::Kind::kRule && nullable[e.value]; });
        if (empty) {
          nullable[r] = changed = true;
          break;
        }
      }
    }
  }
  std::vector<std::vector<uint32_t>> leading(n);
  for (size_t r = 0; r < n; ++r) {
    for (const Sequence& alternative : rules_[r].alternatives) {
      for (const Element& e : alternative) {
        if (e.kind != Element::Kind::kRule) break;
        leading[r].push_back(e.value);
        if (!nullable[e.value]) break;
      }
    }
  }
  // Depth-first search without recursion; state 1: on the path, 2: done.
  std::vector<uint8_t> state(n, 0);
  std::vector<std::pair<uint32_t, size_t>> path;
  for (uint32_t start = 0; start < n; ++start) {
    if (state[start] != 0) continue;
    path.push_back({start, 0});
    state[start] = 1;
    while (!path.empty()) {
      auto& [rule, next] = path.back();
      if (next == leading[rule].size()) {
        state[rule] = 2;
        path.pop_back();
        continue;
      }
      const uint32_t target = leading[rule][next++];
      if (state[target] == 2) continue;
      if (state[target] == 0) {
        state[target] = 1;
        path.push_back({target, 0});
        continue;
      }
      // A cycle: report a named rule on it, else the repetition that made it.
      auto cycle_begin =
          std::find_if(path.begin(), path.end(), [&](const auto& p) { return p.first == target; });
      for (auto it = cycle_begin; it != path.end(); ++it) {
        const Rule& r = rules_[it->first];
        if (!r.name.empty()) {
          return Error(r.at, absl::StrCat("rule '", r.name,
                                          "' is left-recursive (it can reach itself without "
                                          "matching a character)"));
        }
      }
      return Error(rules_[target].at, "repetition of something that can match the empty string");
    }
  }
  return absl::OkStatus();
}

std::shared_ptr<const Grammar> Parser::Flatten() const {
  std::vector<Element> elements;
  elements.reserve(element_count_ + rules_.size() * 2);
  std::vector<std::vector<uint32_t>> starts(rules_.size());
  for (size_t r = 0; r < rules_.size(); ++r) {
    for (const Sequence& alternative : rules_[r].alternatives) {
      starts[r].push_back(static_cast<uint32_t>(elements.size()));
      elements.insert(elements.end(), alternative.begin(), alternative.end());
      elements.push_back({Element::Kind::kEnd, 0, 0});
    }
  }
  return std::make_shared<const Grammar>(std::move(elements), ranges_, std::move(starts),
                                         ids_.at("root"));
}

}  // namespace

const Grammar::Range* Grammar::FirstRangeReaching(uint32_t pos, uint32_t c) const {
  const Element& e = elements_[pos];
  const Range* begin = ranges_.data() + e.value;
  const Range* end = begin + e.count;
  const Range* it =
      std::lower_bound(begin, end, c, [](const Range& r, uint32_t v) { return r.second < v; });
  return it != end ? it : nullptr;
}

bool Grammar::CharsIntersect(uint32_t pos, uint32_t lo, uint32_t hi) const {
  const Range* r = FirstRangeReaching(pos, lo);
  return r != nullptr && r->first <= hi;
}

bool Grammar::CharsContain(uint32_t pos, uint32_t lo, uint32_t hi) const {
  const Range* r = FirstRangeReaching(pos, lo);
  return r != nullptr && r->first <= lo && r->second >= hi;  // ranges are merged
}

absl::StatusOr<std::shared_ptr<const Grammar>> ParseGrammar(std::string_view text) {
  return Parser(absl::string_view(text.data(), text.size())).Run();
}

}  // namespace llmw::structured
