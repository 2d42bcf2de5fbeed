// The regular-expression subset of JSON-schema `pattern` (and of the string formats), compiled
// to grammar rules over the JSON text of a string's characters.
//
// Supported: literal characters, escaped punctuation, \t \n \r \f \v \0 \xHH \uHHHH, classes
// `[a-z_]` and negated `[^...]`, \d \w \s \D \W \S (in classes too), `.`, groups `(...)` and
// `(?:...)`, `|`, and `* + ? {m} {m,} {m,n}` (lazy forms `*?` etc. generate the same strings), `^`
// only first and `$` only last. The whole string matches the pattern: validators search for a
// match anywhere, so this narrows what is generated to strings that also pass there.
// Refused with the offset of the problem: lookaround, backreferences, \b \B \A \Z, named groups,
// inline flags, possessive quantifiers, Unicode properties, anything else.
//
// Validators (Python's `re`, ECMAScript) disagree on what \d \w \s and `.` match beyond ASCII,
// so what is generated is what both accept: \d \w \s generate their ASCII members; `.` neither
// newline, carriage return, U+2028 nor U+2029; \D below U+0660 (the first non-ASCII digit); \W
// within ASCII; \S any character neither counts as space; negated classes likewise.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "worker/structured/grammar_builder.h"
#include "worker/structured/json_string.h"

namespace llmw::structured {

inline constexpr size_t kMaxPatternLength = 1000;  // code points of a pattern
// Characters of a pattern after writing out its counted repetitions: (a{0,100}){0,100} has
// 10000. Bounds how many parse stacks the pattern can keep a matcher in.
inline constexpr uint64_t kMaxPatternSize = 10'000;
// Parse positions a matcher may hold at once, as nested repetitions of varying length multiply
// them ((a{0,10}){0,100}: 1000); each byte's step costs in proportion.
inline constexpr uint64_t kMaxPatternAmbiguity = 1000;
inline constexpr uint64_t kUnboundedLength = UINT64_MAX;

struct PatternRule {
  uint32_t rule;        // the characters' JSON text, without the quotes
  uint64_t min_length;  // code points of the shortest and longest matches
  uint64_t max_length;  // kUnboundedLength: no longest
};

// INVALID_ARGUMENT naming the problem and its offset (in code points) in the pattern.
absl::StatusOr<PatternRule> CompilePattern(std::string_view pattern, GrammarBuilder& builder,
                                           JsonCharItems& chars);

}  // namespace llmw::structured
