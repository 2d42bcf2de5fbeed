// A recursive-descent parser of the pattern subset into a small expression tree, and the tree's
// translation to grammar rules. A repetition of something that can match "" is rewritten to
// repeat its non-empty matches instead ((a*)* as (a+)*), which the grammar notation requires.
#include "worker/structured/regex_pattern.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "worker/structured/grammar.h"

namespace llmw::structured {
namespace {

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Node {
  enum class Kind : uint8_t { kNothing, kEmpty, kChars, kConcat, kAlternation, kRepeat };
  Kind kind = Kind::kEmpty;
  CodePointSet chars;             // kChars
  std::vector<NodePtr> children;  // kConcat, kAlternation; kRepeat: one
  uint32_t min = 0, max = 0;      // kRepeat; max may be kUnboundedRepeat
};

NodePtr Make(Node::Kind kind) {
  auto n = std::make_shared<Node>();
  n->kind = kind;
  return n;
}
NodePtr Chars(CodePointSet set) {
  auto n = std::make_shared<Node>();
  n->kind = set.empty() ? Node::Kind::kNothing : Node::Kind::kChars;
  n->chars = std::move(set);
  return n;
}
NodePtr Group(Node::Kind kind, std::vector<NodePtr> children) {
  if (children.size() == 1) return children[0];
  if (children.empty())
    return Make(kind == Node::Kind::kConcat ? Node::Kind::kEmpty : Node::Kind::kNothing);
  auto n = std::make_shared<Node>();
  n->kind = kind;
  n->children = std::move(children);
  return n;
}
NodePtr Repeat(NodePtr child, uint32_t min, uint32_t max) {
  auto n = std::make_shared<Node>();
  n->kind = Node::Kind::kRepeat;
  n->children = {std::move(child)};
  n->min = min;
  n->max = max;
  return n;
}

bool Nullable(const Node& n) {
  switch (n.kind) {
    case Node::Kind::kNothing:
    case Node::Kind::kChars:
      return false;
    case Node::Kind::kEmpty:
      return true;
    case Node::Kind::kConcat:
      return std::all_of(n.children.begin(), n.children.end(),
                         [](const NodePtr& c) { return Nullable(*c); });
    case Node::Kind::kAlternation:
      return std::any_of(n.children.begin(), n.children.end(),
                         [](const NodePtr& c) { return Nullable(*c); });
    case Node::Kind::kRepeat:
      return n.min == 0 || Nullable(*n.children[0]);
  }
  return false;
}

// The same strings less "".
NodePtr NonEmpty(const NodePtr& n) {
  switch (n->kind) {
    case Node::Kind::kNothing:
    case Node::Kind::kEmpty:
      return Make(Node::Kind::kNothing);
    case Node::Kind::kChars:
      return n;
    case Node::Kind::kAlternation: {
      std::vector<NodePtr> kept;
      for (const NodePtr& c : n->children) {
        NodePtr ne = NonEmpty(c);
        if (ne->kind != Node::Kind::kNothing) kept.push_back(std::move(ne));
      }
      return Group(Node::Kind::kAlternation, std::move(kept));
    }
    case Node::Kind::kConcat: {
      // x·rest less "" is (x less "")·rest, or also (rest less "") when x matches "".
      const std::vector<NodePtr>& c = n->children;
      NodePtr result = NonEmpty(c.back());
      for (size_t i = c.size() - 1; i-- > 0;) {
        const NodePtr rest = Group(Node::Kind::kConcat, {c.begin() + i + 1, c.end()});
        std::vector<NodePtr> options;
        NodePtr head = NonEmpty(c[i]);
        if (head->kind != Node::Kind::kNothing) {
          options.push_back(Group(Node::Kind::kConcat, {head, rest}));
        }
        if (Nullable(*c[i]) && result->kind != Node::Kind::kNothing) options.push_back(result);
        result = Group(Node::Kind::kAlternation, std::move(options));
      }
      return result;
    }
    case Node::Kind::kRepeat: {
      if (n->max == 0) return Make(Node::Kind::kNothing);
      const NodePtr& child = n->children[0];
      if (Nullable(*child)) {
        NodePtr ne = NonEmpty(child);
        if (ne->kind == Node::Kind::kNothing) return ne;
        return Repeat(std::move(ne), 1, n->max);
      }
      return n->min == 0 ? Repeat(child, 1, n->max) : n;
    }
  }
  return n;
}

uint64_t SaturatingMul(uint64_t a, uint64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kUnboundedLength / b ? kUnboundedLength : a * b;
}
uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  return a > kUnboundedLength - b ? kUnboundedLength : a + b;
}

// The sum of `f` over a node's children, saturating.
template <typename F>
uint64_t SumOverChildren(const Node& n, F f) {
  uint64_t sum = 0;
  for (const NodePtr& c : n.children) sum = SaturatingAdd(sum, f(*c));
  return sum;
}

// Characters after writing out counted repetitions (unbounded ones counted as min + 1 copies).
uint64_t ExpandedSize(const Node& n) {
  switch (n.kind) {
    case Node::Kind::kChars:
      return 1;
    case Node::Kind::kConcat:
    case Node::Kind::kAlternation:
      return SumOverChildren(n, ExpandedSize);
    case Node::Kind::kRepeat: {
      const uint64_t copies = n.max == kUnboundedRepeat ? uint64_t{n.min} + 1 : n.max;
      return SaturatingMul(ExpandedSize(*n.children[0]), copies);
    }
    default:
      return 0;
  }
}

// The characters a match can begin (or end) with.
CodePointSet Edge(const Node& n, bool last) {
  switch (n.kind) {
    case Node::Kind::kChars:
      return n.chars;
    case Node::Kind::kAlternation: {
      CodePointSet all;
      for (const NodePtr& c : n.children) all = all.Union(Edge(*c, last));
      return all;
    }
    case Node::Kind::kConcat: {
      CodePointSet all;
      for (size_t i = 0; i < n.children.size(); ++i) {
        const Node& c = *n.children[last ? n.children.size() - 1 - i : i];
        all = all.Union(Edge(c, last));
        if (!Nullable(c)) break;
      }
      return all;
    }
    case Node::Kind::kRepeat:
      return n.max == 0 ? CodePointSet() : Edge(*n.children[0], last);
    default:
      return {};
  }
}

// Shortest (or longest) match in code points.
uint64_t Length(const Node& n, bool longest) {
  switch (n.kind) {
    case Node::Kind::kChars:
      return 1;
    case Node::Kind::kConcat:
      return SumOverChildren(n, [&](const Node& c) { return Length(c, longest); });
    case Node::Kind::kAlternation: {
      uint64_t best = longest ? 0 : kUnboundedLength;
      for (const NodePtr& c : n.children) {
        const uint64_t l = Length(*c, longest);
        best = longest ? std::max(best, l) : std::min(best, l);
      }
      return best;
    }
    case Node::Kind::kRepeat: {
      const uint64_t l = Length(*n.children[0], longest);
      if (!longest) return SaturatingMul(l, n.min);
      if (n.max == kUnboundedRepeat) return l == 0 ? 0 : kUnboundedLength;
      return SaturatingMul(l, n.max);
    }
    default:
      return 0;
  }
}

// How many parse positions a matcher may hold at once, roughly: a repetition multiplies those
// of what it repeats when copies of varying length can meet without a character that tells where
// one ends ((a{0,100}){0,100}: 10000), and adds nothing when they cannot ((\d{1,3}\.){3}).
uint64_t Ambiguity(const Node& n) {
  switch (n.kind) {
    case Node::Kind::kChars:
      return 1;
    case Node::Kind::kConcat:
    case Node::Kind::kAlternation:
      return SumOverChildren(n, Ambiguity);
    case Node::Kind::kRepeat: {
      const Node& x = *n.children[0];
      const bool fixed = Length(x, false) == Length(x, true);
      if (fixed || Edge(x, false).Intersect(Edge(x, true)).empty()) return Ambiguity(x);
      const uint64_t copies = n.max == kUnboundedRepeat ? uint64_t{n.min} + 1 : n.max;
      return SaturatingMul(ExpandedSize(x), copies);
    }
    default:
      return 0;
  }
}

// A class item's characters: `subset` where it stands as it is, `superset` where a negated
// class complements it (so the complement stays within what every validator excludes).
struct ClassItem {
  CodePointSet subset, superset;
};

ClassItem Single(uint32_t c) { return {CodePointSet::Of(c), CodePointSet::Of(c)}; }

ClassItem Shorthand(char letter) {
  const CodePointSet beyond_ascii({{0x80, kMaxCodePoint}});
  ClassItem item;
  switch (letter | 0x20) {
    case 'd':
      item.subset = CodePointSet({{'0', '9'}});
      item.superset = item.subset.Union(CodePointSet({{0x660, kMaxCodePoint}}));
      break;
    case 'w':
      item.subset = CodePointSet({{'0', '9'}, {'A', 'Z'}, {'a', 'z'}, {'_', '_'}});
      item.superset = item.subset.Union(beyond_ascii);
      break;
    default:  // 's': Python's str.isspace() characters and ECMAScript's \s, both
      item.subset = CodePointSet({{'\t', '\r'}, {' ', ' '}});
      item.superset = CodePointSet({{'\t', '\r'},
                                    {0x1C, ' '},
                                    {0x85, 0x85},
                                    {0xA0, 0xA0},
                                    {0x1680, 0x1680},
                                    {0x2000, 0x200A},
                                    {0x2028, 0x2029},
                                    {0x202F, 0x202F},
                                    {0x205F, 0x205F},
                                    {0x3000, 0x3000},
                                    {0xFEFF, 0xFEFF}});
      break;
  }
  if (letter >= 'A' && letter <= 'Z') {
    return {item.superset.Complement(), item.subset.Complement()};
  }
  return item;
}

class PatternParser {
 public:
  explicit PatternParser(std::string_view pattern) : text_(DecodeUtf8(pattern)) {}

  absl::StatusOr<NodePtr> Run() {
    if (text_.size() > kMaxPatternLength) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pattern of ", text_.size(), " characters, over the limit of ", kMaxPatternLength));
    }
    absl::StatusOr<NodePtr> node = ParseAlternation();
    if (!node.ok()) return node;
    if (pos_ < text_.size()) return Error("unmatched ')'");
    return node;
  }

 private:
  absl::Status Error(std::string_view what) const { return ErrorAt(pos_, what); }
  absl::Status ErrorAt(size_t at, std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("pattern: ", std::string(what), " at offset ", at));
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char32_t Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : 0;
  }

  absl::StatusOr<NodePtr> ParseAlternation() {
    std::vector<NodePtr> branches;
    while (true) {
      absl::StatusOr<NodePtr> branch = ParseConcatenation();
      if (!branch.ok()) return branch;
      branches.push_back(*std::move(branch));
      if (AtEnd() || Peek() != '|') break;
      ++pos_;
    }
    return Group(Node::Kind::kAlternation, std::move(branches));
  }

  absl::StatusOr<NodePtr> ParseConcatenation() {
    std::vector<NodePtr> items;
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      absl::StatusOr<NodePtr> atom = ParseAtom();
      if (!atom.ok()) return atom;
      absl::StatusOr<NodePtr> item = ParseQuantifier(*std::move(atom));
      if (!item.ok()) return item;
      if ((*item)->kind != Node::Kind::kEmpty) items.push_back(*std::move(item));
    }
    return Group(Node::Kind::kConcat, std::move(items));
  }

  bool AtQuantifier() const {
    const char32_t c = Peek();
    if (c == '*' || c == '+' || c == '?') return true;
    return c == '{' && Peek(1) >= '0' && Peek(1) <= '9';
  }

  absl::StatusOr<NodePtr> ParseQuantifier(NodePtr atom) {
    if (!AtQuantifier()) return atom;
    const size_t at = pos_;
    if (atom->kind == Node::Kind::kEmpty) return Error("nothing to repeat");
    uint32_t min = 0, max = kUnboundedRepeat;
    const char32_t op = text_[pos_++];
    if (op == '+') {
      min = 1;
    } else if (op == '?') {
      max = 1;
    } else if (op == '{') {
      absl::StatusOr<uint32_t> m = ParseBound();
      if (!m.ok()) return m.status();
      min = max = *m;
      if (Peek() == ',') {
        ++pos_;
        max = kUnboundedRepeat;
        if (Peek() != '}') {
          absl::StatusOr<uint32_t> n = ParseBound();
          if (!n.ok()) return n.status();
          max = *n;
        }
      }
      if (Peek() != '}') return Error("expected '}' to close the repetition bounds");
      ++pos_;
      if (max < min) return ErrorAt(at, "repetition bounds out of order");
    }
    if (Peek() == '?') ++pos_;  // lazy: the same strings
    if (Peek() == '+') return Error("possessive quantifiers are not supported");
    if (AtQuantifier()) return Error("a quantifier may not follow another");
    return Repeat(std::move(atom), min, max);
  }

  absl::StatusOr<uint32_t> ParseBound() {
    const size_t at = pos_;
    uint64_t value = 0;
    while (Peek() >= '0' && Peek() <= '9') {
      value = value * 10 + (text_[pos_++] - '0');
      if (value > kMaxRepetition) {
        return ErrorAt(at, absl::StrCat("repetition bound over ", kMaxRepetition));
      }
    }
    if (pos_ == at) return Error("expected a number in repetition bounds");
    return static_cast<uint32_t>(value);
  }

  absl::StatusOr<NodePtr> ParseAtom() {
    const size_t at = pos_;
    const char32_t c = text_[pos_++];
    switch (c) {
      case '(':
        return ParseGroup(at);
      case '[':
        return ParseClass(at);
      case '.':
        return Chars(CodePointSet({{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}}).Complement());
      case '^':
        if (at != 0) return ErrorAt(at, "'^' is only supported at the start of the pattern");
        return Make(Node::Kind::kEmpty);
      case '$':
        if (pos_ != text_.size()) {
          return ErrorAt(at, "'$' is only supported at the end of the pattern");
        }
        return Make(Node::Kind::kEmpty);
      case '\\': {
        absl::StatusOr<ClassItem> item = ParseEscape(/*in_class=*/false);
        if (!item.ok()) return item.status();
        return Chars(item->subset);
      }
      case '*':
      case '+':
      case '?':
        return ErrorAt(at, "nothing to repeat");
      case '{':
        if (Peek() >= '0' && Peek() <= '9') return ErrorAt(at, "nothing to repeat");
        return ErrorAt(at, "a literal '{' must be escaped");
      default:
        return Chars(CodePointSet::Of(c));
    }
  }

  absl::StatusOr<NodePtr> ParseGroup(size_t at) {
    if (Peek() == '?') {
      const char32_t kind = Peek(1);
      if (kind == ':') {
        pos_ += 2;
      } else if (kind == '=' || kind == '!') {
        return ErrorAt(at, "lookahead is not supported");
      } else if (kind == '<' && (Peek(2) == '=' || Peek(2) == '!')) {
        return ErrorAt(at, "lookbehind is not supported");
      } else if (kind == 'P' || kind == '<') {
        return ErrorAt(at, "named groups are not supported; use (?:...)");
      } else {
        return ErrorAt(at, "inline flags and other (?...) groups are not supported");
      }
    }
    if (++depth_ > kMaxNesting) return ErrorAt(at, "groups nested too deep");
    absl::StatusOr<NodePtr> inner = ParseAlternation();
    if (!inner.ok()) return inner;
    if (Peek() != ')') return ErrorAt(at, "unterminated group");
    ++pos_;
    --depth_;
    return inner;
  }

  absl::StatusOr<NodePtr> ParseClass(size_t at) {
    const bool negate = Peek() == '^';
    if (negate) ++pos_;
    if (Peek() == ']') {
      return Error("']' first in a class means different things to different engines; escape it");
    }
    CodePointSet subset, superset;
    while (true) {
      if (AtEnd()) return ErrorAt(at, "unterminated character class");
      if (Peek() == ']') break;
      if (Peek() == '[') return Error("escape '[' inside a character class");
      absl::StatusOr<ClassItem> first = ParseClassChar();
      if (!first.ok()) return first.status();
      ClassItem item = *std::move(first);
      if (Peek() == '-' && Peek(1) != ']' && Peek(1) != 0) {
        const size_t range_at = pos_;
        ++pos_;
        absl::StatusOr<ClassItem> last = ParseClassChar();
        if (!last.ok()) return last.status();
        const auto& lo = item.subset.ranges();
        const auto& hi = last->subset.ranges();
        const bool singles = item.subset == item.superset && last->subset == last->superset &&
                             lo.size() == 1 && lo[0].first == lo[0].second && hi.size() == 1 &&
                             hi[0].first == hi[0].second;
        if (!singles) return ErrorAt(range_at, "a range must run between two characters");
        if (hi[0].first < lo[0].first) return ErrorAt(range_at, "character range out of order");
        item.subset = item.superset = CodePointSet({{lo[0].first, hi[0].first}});
      }
      subset = subset.Union(item.subset);
      superset = superset.Union(item.superset);
    }
    ++pos_;
    return Chars(negate ? superset.Complement() : subset);
  }

  absl::StatusOr<ClassItem> ParseClassChar() {
    const char32_t c = text_[pos_++];
    if (c == '\\') return ParseEscape(/*in_class=*/true);
    return Single(c);
  }

  absl::StatusOr<uint32_t> ParseHex(int digits) {
    uint32_t value = 0;
    for (int i = 0; i < digits; ++i) {
      const char32_t h = Peek();
      int v = -1;
      if (h >= '0' && h <= '9') v = static_cast<int>(h - '0');
      if (h >= 'a' && h <= 'f') v = static_cast<int>(h - 'a' + 10);
      if (h >= 'A' && h <= 'F') v = static_cast<int>(h - 'A' + 10);
      if (v < 0) return Error(absl::StrCat("expected ", digits, " hex digits"));
      value = value * 16 + static_cast<uint32_t>(v);
      ++pos_;
    }
    return value;
  }

  // After a backslash.
  absl::StatusOr<ClassItem> ParseEscape(bool in_class) {
    const size_t at = pos_ - 1;
    if (AtEnd()) return ErrorAt(at, "pattern ends in a backslash");
    const char32_t c = text_[pos_++];
    switch (c) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 's':
      case 'S':
        return Shorthand(static_cast<char>(c));
      case 't':
        return Single('\t');
      case 'n':
        return Single('\n');
      case 'r':
        return Single('\r');
      case 'f':
        return Single('\f');
      case 'v':
        return Single('\v');
      case '0':
        if (Peek() >= '0' && Peek() <= '9') return ErrorAt(at, "octal escapes are not supported");
        return Single(0);
      case 'x':
      case 'u': {
        absl::StatusOr<uint32_t> value = ParseHex(c == 'x' ? 2 : 4);
        if (!value.ok()) return value.status();
        if (*value >= 0xD800 && *value <= 0xDFFF) {
          return ErrorAt(at, "surrogate escapes are not supported; write the character itself");
        }
        return Single(*value);
      }
      case 'b':
        if (in_class) return Single('\b');
        return ErrorAt(at, "word boundaries (\\b) are not supported");
      case 'B':
        return ErrorAt(at, "word boundaries (\\B) are not supported");
      case 'A':
      case 'Z':
      case 'z':
      case 'G':
        return ErrorAt(at, "anchors other than a leading ^ and a trailing $ are not supported");
      case 'p':
      case 'P':
        return ErrorAt(at, "Unicode property escapes are not supported");
      case 'k':
        return ErrorAt(at, "backreferences are not supported");
      default:
        break;
    }
    if (c >= '1' && c <= '9') return ErrorAt(at, "backreferences are not supported");
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      return ErrorAt(
          at, absl::StrCat("unsupported escape '\\", std::string(1, static_cast<char>(c)), "'"));
    }
    return Single(c);
  }

  std::u32string text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// Writes the tree as grammar rules over JSON string characters.
class Translator {
 public:
  Translator(GrammarBuilder& builder, JsonCharItems& chars) : b_(builder), chars_(chars) {}

  void Append(const NodePtr& n, GrammarSequence* out) {
    switch (n->kind) {
      case Node::Kind::kNothing:
        out->push_back(GrammarItem::Chars({}));
        return;
      case Node::Kind::kEmpty:
        return;
      case Node::Kind::kChars:
        out->push_back(chars_.Of(n->chars));
        return;
      case Node::Kind::kConcat:
        for (const NodePtr& c : n->children) Append(c, out);
        return;
      case Node::Kind::kAlternation:
        out->push_back(AsItem(n));
        return;
      case Node::Kind::kRepeat: {
        NodePtr child = n->children[0];
        uint32_t min = n->min;
        if (Nullable(*child)) {
          // x{m,n} with x matching "" is (x less ""){0,n}.
          child = NonEmpty(child);
          min = 0;
          if (child->kind == Node::Kind::kNothing) return;
        }
        if (n->max == 0) return;
        out->push_back(AsItem(child).Repeat(min, n->max));
        return;
      }
    }
  }

  GrammarItem AsItem(const NodePtr& n) {
    if (n->kind == Node::Kind::kChars) return chars_.Of(n->chars);
    const uint32_t rule = b_.NewRule("pattern");
    if (n->kind == Node::Kind::kAlternation) {
      for (const NodePtr& c : n->children) {
        GrammarSequence s;
        Append(c, &s);
        b_.Add(rule, std::move(s));
      }
    } else {
      GrammarSequence s;
      Append(n, &s);
      b_.Add(rule, std::move(s));
    }
    return GrammarItem::Rule(rule);
  }

 private:
  GrammarBuilder& b_;
  JsonCharItems& chars_;
};

}  // namespace

absl::StatusOr<PatternRule> CompilePattern(std::string_view pattern, GrammarBuilder& builder,
                                           JsonCharItems& chars) {
  absl::StatusOr<NodePtr> tree = PatternParser(pattern).Run();
  if (!tree.ok()) return tree.status();
  const uint64_t size = ExpandedSize(**tree);
  if (size > kMaxPatternSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pattern: its repetitions expand to ", size == kUnboundedLength ? "too many" : "",
        size == kUnboundedLength ? "" : absl::StrCat(size), " characters, over the limit of ",
        kMaxPatternSize));
  }
  const uint64_t ambiguity = Ambiguity(**tree);
  if (ambiguity > kMaxPatternAmbiguity) {
    return absl::InvalidArgumentError(
        absl::StrCat("pattern: nested repetitions make it too ambiguous to match quickly (",
                     ambiguity == kUnboundedLength ? "too many" : absl::StrCat(ambiguity),
                     " parse positions at once, over the limit of ", kMaxPatternAmbiguity, ")"));
  }
  PatternRule out;
  out.rule = builder.NewRule("pattern");
  GrammarSequence s;
  Translator(builder, chars).Append(*tree, &s);
  builder.Add(out.rule, std::move(s));
  out.min_length = Length(**tree, /*longest=*/false);
  out.max_length = Length(**tree, /*longest=*/true);
  return out;
}

}  // namespace llmw::structured
