// GrammarBuilder: a grammar assembled rule by rule in memory and written out in the notation of
// grammar.h. The JSON-schema compiler builds with it. Writing drops the alternatives that can
// never complete (so a matcher following the grammar never enters a dead end), folds cycles of
// rules that only name each other (which the notation refuses as left recursion: `a ::= b | "x"`,
// `b ::= a`), and writes a rule used once inline, as a group, instead of by name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/structured/code_points.h"

namespace llmw::structured {

inline constexpr uint32_t kUnboundedRepeat = UINT32_MAX;

// One element of an alternative, repeated min..max times.
struct GrammarItem {
  enum class Kind : uint8_t {
    kLiteral,  // the UTF-8 bytes of `text`
    kChars,    // one code point of `chars` (an empty set matches nothing)
    kRule,     // rule `rule` of the builder
    kNamed,    // the rule named `text` in the fixed rules passed to Write
  };
  Kind kind = Kind::kLiteral;
  std::string text;
  CodePointSet chars;
  uint32_t rule = 0;
  uint32_t min = 1;
  uint32_t max = 1;  // kUnboundedRepeat: no upper bound

  static GrammarItem Literal(std::string utf8);
  static GrammarItem Chars(CodePointSet set);
  static GrammarItem Rule(uint32_t id);
  static GrammarItem Named(std::string name);
  // The same item repeated min..max times. Whatever is repeated must not match "".
  GrammarItem Repeat(uint32_t min_count, uint32_t max_count) &&;
};

using GrammarSequence = std::vector<GrammarItem>;

class GrammarBuilder {
 public:
  // A new rule without alternatives: it matches nothing until some are added. `hint` becomes
  // part of its name where it is written by name.
  uint32_t NewRule(std::string_view hint);
  void Add(uint32_t rule, GrammarSequence alternative);

  size_t rule_count() const { return rules_.size(); }
  // Items added so far: a measure of the grammar's size.
  size_t item_count() const { return item_count_; }

  // The grammar with `root` as its root rule, followed by `fixed_rules` (the rules kNamed items
  // name). FAILED_PRECONDITION when `root` matches no finite string.
  absl::StatusOr<std::string> Write(uint32_t root, std::string_view fixed_rules);

 private:
  struct Rule {
    std::string hint;
    std::vector<GrammarSequence> alternatives;
  };

  void FoldUnitCycles();
  std::vector<bool> Productive() const;
  void Prune(const std::vector<bool>& productive);

  std::vector<Rule> rules_;
  size_t item_count_ = 0;
};

}  // namespace llmw::structured
