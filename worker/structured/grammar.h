// Grammars for constrained generation: the notation, its limits, and the compiled form that
// every request using the same grammar shares.
//
// Notation (GBNF-like). A grammar is a list of rules; generation must produce a string of the
// rule named `root`.
//
//   root    ::= object                     # a comment runs to the end of the line
//   object  ::= "{" ws ( pair ( "," ws pair )* )? "}"
//   pair    ::= string ":" ws value
//   string  ::= "\"" [^"\\\x00-\x1f]* "\""
//   ws      ::= [ \t\n]*
//
//   name ::= alternatives   a rule; names are [a-zA-Z0-9_-]+. A rule runs on over following
//                           lines until the next `name ::=`. A name may be defined once.
//   a b c                   a sequence: a, then b, then c (an empty sequence matches "")
//   a | b                   alternatives
//   "text"                  a literal; escapes \n \t \r \\ \" \' \[ \] \- \^ \/ \xXX \uXXXX
//                           \UXXXXXXXX (hex digits; a raw newline may not appear inside)
//   [a-z0-9_]  [^"\\]       a character class (ranges, single characters, the same escapes);
//                           `^` first negates it
//   .                       any character
//   ( ... )                 grouping
//   x*  x+  x?              repetition: any number, at least one, at most one
//   x{m}  x{m,}  x{m,n}     repetition: exactly m, at least m, m to n
//
// Characters are Unicode code points (U+0000..U+10FFFF, surrogates excluded) matched over the
// UTF-8 bytes of the output: `.` matches any of them, a negated class any not in it. Columns in
// error positions count bytes.
//
// Refused with INVALID_ARGUMENT and the line:column of the problem: empty grammar, no `root`,
// an undefined or twice-defined rule, unterminated literal, class or group, a bad escape, a
// class range out of order, bad repetition bounds ({3,1}, a bound over kMaxRepetition), a
// repetition with nothing to repeat, and left recursion: a rule that can reach itself without
// consuming a character (`expr ::= expr "+" term`, or repeating something that can match the
// empty string, `("a"?)*`); write such rules right-recursively or with repetition instead.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace llmw::structured {

// Bounds that keep a hostile grammar from exhausting time or memory; all are checked while
// parsing, so a grammar over them is refused after reading at most its first kMaxGrammarBytes.
inline constexpr size_t kMaxGrammarBytes = 1 << 20;      // grammar text
inline constexpr size_t kMaxRules = 10'000;              // named rules
inline constexpr int kMaxNesting = 64;                   // depth of ( ) groups
inline constexpr uint32_t kMaxRepetition = 10'000;       // m and n in {m,n}
inline constexpr size_t kMaxCompiledRules = 200'000;     // named rules plus those repetition adds
inline constexpr size_t kMaxCompiledElements = 1 << 21;  // elements of all alternatives

// One step of an alternative.
struct Element {
  enum class Kind : uint8_t {
    kEnd,    // end of the alternative
    kChars,  // one code point in ranges [begin, begin + count) of Grammar::ranges()
    kRule,   // rule `value`
  };
  Kind kind;
  uint32_t value;  // kChars: first range; kRule: rule id
  uint32_t count;  // kChars: number of ranges
};

// A compiled grammar: immutable, so one instance serves any number of matchers and threads.
class Grammar {
 public:
  // Code points lo..hi inclusive.
  using Range = std::pair<uint32_t, uint32_t>;

  Grammar(std::vector<Element> elements, std::vector<Range> ranges,
          std::vector<std::vector<uint32_t>> rule_alternatives, uint32_t root)
      : elements_(std::move(elements)),
        ranges_(std::move(ranges)),
        rule_alternatives_(std::move(rule_alternatives)),
        root_(root) {}

  // All alternatives' elements, each alternative ending with a kEnd element.
  const std::vector<Element>& elements() const { return elements_; }
  const std::vector<Range>& ranges() const { return ranges_; }
  // For each rule, where its alternatives begin in elements().
  const std::vector<uint32_t>& alternatives(uint32_t rule) const {
    return rule_alternatives_[rule];
  }
  size_t rule_count() const { return rule_alternatives_.size(); }
  uint32_t root() const { return root_; }

  // Whether the kChars element at `pos` matches any code point in lo..hi.
  bool CharsIntersect(uint32_t pos, uint32_t lo, uint32_t hi) const;
  // Whether it matches every code point in lo..hi.
  bool CharsContain(uint32_t pos, uint32_t lo, uint32_t hi) const;

 private:
  // The first range of the kChars element at `pos` that ends at or after `c`, or null.
  const Range* FirstRangeReaching(uint32_t pos, uint32_t c) const;

  std::vector<Element> elements_;
  std::vector<Range> ranges_;
  std::vector<std::vector<uint32_t>> rule_alternatives_;
  uint32_t root_;
};

// Parses and compiles `text` (the notation above).
absl::StatusOr<std::shared_ptr<const Grammar>> ParseGrammar(std::string_view text);

}  // namespace llmw::structured
