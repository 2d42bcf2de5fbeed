// Grammar alternatives for the decimal integers in a range, and for the JSON numbers between
// whole-number bounds: a grammar cannot compare numbers, so the range is decomposed digit by
// digit (100..349 is "1" [0-9]{2} | "2" [0-9]{2} | "3" [0-4] [0-9]).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "worker/structured/grammar_builder.h"

namespace llmw::structured {

// Generated integers have at most 16 digits, so every one converts to a double within 1 of its
// value and a sampling model cannot write digits forever.
inline constexpr int kMaxIntegerDigits = 16;
inline constexpr int64_t kLargestInteger = 9'999'999'999'999'999;
// Generated fractions have at most this many digits.
inline constexpr int kMaxFractionDigits = 16;

// Alternatives matching exactly the decimal forms (no sign, no leading zeros) of lo..hi, for
// 0 <= lo <= hi <= kLargestInteger.
std::vector<GrammarSequence> UnsignedRange(int64_t lo, int64_t hi);

// Alternatives matching exactly the integers lo..hi, -kLargestInteger <= lo <= hi <=
// kLargestInteger, negative ones with "-" ("-0" is not generated).
std::vector<GrammarSequence> IntegerRange(int64_t lo, int64_t hi);

// A whole-number bound on a number; |value| <= kMaxExactBound.
struct NumberBound {
  int64_t value;
  bool exclusive;
};
// Bounds on numbers with fractions must be far enough inside a double's exact integers that the
// integers next to them are exact too.
inline constexpr int64_t kMaxExactBound = int64_t{1} << 52;

// Adds to `rule` alternatives matching JSON numbers without exponent, with at most 16 integer
// and 16 fraction digits, whose value lies within the bounds also after conversion to the
// nearest double (how Python's json and most validators read them). Next to an exclusive bound
// a fraction has fewer digits, enough that rounding cannot reach the bound.
void AddNumberRange(GrammarBuilder& builder, uint32_t rule, std::optional<NumberBound> lower,
                    std::optional<NumberBound> upper);

}  // namespace llmw::structured
