// Digit-by-digit decomposition of integer ranges, and of number ranges by integer part.
#include "worker/structured/integer_range.h"

#include <cmath>
#include <string>

namespace llmw::structured {
namespace {

GrammarItem Digits(char first, char last) {
  return GrammarItem::Chars(
      CodePointSet({{static_cast<uint32_t>(first), static_cast<uint32_t>(last)}}));
}

// Alternatives for lo..hi, decimal strings of one length, each after `prefix`.
void SameLength(const std::string& lo, const std::string& hi, const GrammarSequence& prefix,
                std::vector<GrammarSequence>* out) {
  size_t i = 0;
  while (i < lo.size() && lo[i] == hi[i]) ++i;
  GrammarSequence head = prefix;
  if (i > 0) head.push_back(GrammarItem::Literal(lo.substr(0, i)));
  if (i == lo.size()) {
    out->push_back(std::move(head));
    return;
  }
  const size_t rest = lo.size() - i - 1;
  const bool lo_zeros = lo.find_first_not_of('0', i + 1) == std::string::npos;
  const bool hi_nines = hi.find_first_not_of('9', i + 1) == std::string::npos;
  const char first = lo_zeros ? lo[i] : static_cast<char>(lo[i] + 1);
  const char last = hi_nines ? hi[i] : static_cast<char>(hi[i] - 1);
  if (!lo_zeros) {
    GrammarSequence p = head;
    p.push_back(GrammarItem::Literal(std::string(1, lo[i])));
    SameLength(lo.substr(i + 1), std::string(rest, '9'), p, out);
  }
  if (first <= last) {
    GrammarSequence middle = head;
    middle.push_back(Digits(first, last));
    if (rest > 0) middle.push_back(Digits('0', '9').Repeat(rest, rest));
    out->push_back(std::move(middle));
  }
  if (!hi_nines) {
    GrammarSequence p = head;
    p.push_back(GrammarItem::Literal(std::string(1, hi[i])));
    SameLength(std::string(rest, '0'), hi.substr(i + 1), p, out);
  }
}

int64_t PowerOfTen(int n) {
  int64_t p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

// How many fraction digits keep every fraction of integer part i apart, as doubles, from i and
// from i + 1: 10^-k must be at least the spacing of doubles near i + 1.
int SafeFractionDigits(int64_t i) {
  const double next = static_cast<double>(i + 1);
  const double spacing = std::nextafter(next, INFINITY) - next;
  int k = 0;
  while (k < kMaxFractionDigits && std::pow(10.0, -(k + 1)) >= spacing) ++k;
  return k;
}

// What fractions an integer part allows.
// kShort: at most 1 - 10^-k. kNonZero: at least 10^-k. kShortNonZero: both.
enum class Fractions { kNone, kAny, kZero, kShort, kNonZero, kShortNonZero };

struct Side {
  std::optional<NumberBound> lower, upper;  // on the magnitude

  Fractions ForIntegerPart(int64_t i) const {
    Fractions from_lower = Fractions::kAny;
    if (lower) {
      if (i < lower->value) return Fractions::kNone;
      if (i == lower->value && lower->exclusive) from_lower = Fractions::kNonZero;
    }
    Fractions from_upper = Fractions::kAny;
    if (upper) {
      const int64_t b = upper->value;
      if (upper->exclusive) {
        if (i >= b) return Fractions::kNone;
        if (i == b - 1) from_upper = Fractions::kShort;
      } else {
        if (i > b) return Fractions::kNone;
        if (i == b) from_upper = Fractions::kZero;
      }
    }
    if (from_lower == Fractions::kAny) return from_upper;
    switch (from_upper) {
      case Fractions::kAny:
        return Fractions::kNonZero;
      case Fractions::kShort:
        return Fractions::kShortNonZero;
      default:  // kZero
        return Fractions::kNone;
    }
  }
};

class NumberWriter {
 public:
  NumberWriter(GrammarBuilder& builder, uint32_t rule) : b_(builder), rule_(rule) {}

  void AddSide(const char* sign, const Side& side) {
    // Integer parts whose every fraction is allowed: one range.
    int64_t lo = 0, hi = kLargestInteger;
    if (side.lower) lo = std::max(lo, side.lower->value + (side.lower->exclusive ? 1 : 0));
    if (side.upper) hi = std::min(hi, side.upper->value - (side.upper->exclusive ? 2 : 1));
    if (lo <= hi) {
      const uint32_t digits = b_.NewRule("digits");
      for (GrammarSequence& s : UnsignedRange(lo, hi)) b_.Add(digits, std::move(s));
      AddAlternative(sign, GrammarItem::Rule(digits), Fractions::kAny, kMaxFractionDigits);
    }
    // The integer parts next to the bounds, with fewer fractions.
    std::vector<int64_t> edges;
    if (side.lower && side.lower->exclusive) edges.push_back(side.lower->value);
    if (side.upper) edges.push_back(side.upper->value - (side.upper->exclusive ? 1 : 0));
    if (edges.size() == 2 && edges[0] == edges[1]) edges.pop_back();
    for (int64_t i : edges) {
      if (i < 0 || i > kLargestInteger || (i >= lo && i <= hi)) continue;
      AddAlternative(sign, GrammarItem::Literal(std::to_string(i)), side.ForIntegerPart(i),
                     SafeFractionDigits(i));
    }
  }

 private:
  void AddAlternative(const char* sign, GrammarItem integer_part, Fractions fractions, int k) {
    GrammarSequence s;
    if (*sign != '\0') s.push_back(GrammarItem::Literal(sign));
    s.push_back(std::move(integer_part));
    switch (fractions) {
      case Fractions::kNone:
        return;
      case Fractions::kAny:
      case Fractions::kShort:
        if (k > 0) s.push_back(GrammarItem::Rule(Fraction(k)).Repeat(0, 1));
        break;
      case Fractions::kZero:
        s.push_back(GrammarItem::Rule(ZeroFraction()).Repeat(0, 1));
        break;
      case Fractions::kNonZero:
      case Fractions::kShortNonZero:
        if (k == 0) return;
        s.push_back(GrammarItem::Rule(NonZeroFraction(k, fractions == Fractions::kShortNonZero)));
        break;
    }
    b_.Add(rule_, std::move(s));
  }

  // "." [0-9]{1,k} "0"{0,16-k}: trailing zeros change nothing.
  uint32_t Fraction(int k) {
    const uint32_t r = b_.NewRule("fraction");
    GrammarSequence s = {GrammarItem::Literal("."), Digits('0', '9').Repeat(1, k)};
    if (k < kMaxFractionDigits) s.push_back(TrailingZeros(k));
    b_.Add(r, std::move(s));
    return r;
  }
  // "." "0"{1,16}
  uint32_t ZeroFraction() {
    const uint32_t r = b_.NewRule("zero-fraction");
    b_.Add(r, {GrammarItem::Literal("."), GrammarItem::Literal("0").Repeat(1, kMaxFractionDigits)});
    return r;
  }
  // At least 10^-k: a digit other than 0 among the first k, at position j:
  //   "." ("0"{j} [1-9] [0-9]{0,15-j} | ...)
  // Short as well (at most 1 - 10^-k): no digits but zeros past the first k:
  //   "." ("0"{j} [1-9] [0-9]{0,k-1-j} "0"{0,16-k} | ...)
  uint32_t NonZeroFraction(int k, bool short_too) {
    const uint32_t digits = b_.NewRule("nonzero-digits");
    for (int j = 0; j < k; ++j) {
      GrammarSequence s;
      if (j > 0) s.push_back(GrammarItem::Literal(std::string(j, '0')));
      s.push_back(Digits('1', '9'));
      const int free_digits = short_too ? k - 1 - j : kMaxFractionDigits - 1 - j;
      if (free_digits > 0) s.push_back(Digits('0', '9').Repeat(0, free_digits));
      if (short_too && k < kMaxFractionDigits) s.push_back(TrailingZeros(k));
      b_.Add(digits, std::move(s));
    }
    const uint32_t r = b_.NewRule("nonzero-fraction");
    b_.Add(r, {GrammarItem::Literal("."), GrammarItem::Rule(digits)});
    return r;
  }

  static GrammarItem TrailingZeros(int k) {
    return GrammarItem::Literal("0").Repeat(0, kMaxFractionDigits - k);
  }

  GrammarBuilder& b_;
  const uint32_t rule_;
};

}  // namespace

std::vector<GrammarSequence> UnsignedRange(int64_t lo, int64_t hi) {
  std::vector<GrammarSequence> out;
  const int lo_digits = static_cast<int>(std::to_string(lo).size());
  const int hi_digits = static_cast<int>(std::to_string(hi).size());
  for (int d = lo_digits; d <= hi_digits; ++d) {
    const int64_t a = d == lo_digits ? lo : PowerOfTen(d - 1);
    const int64_t b = d == hi_digits ? hi : PowerOfTen(d) - 1;
    SameLength(std::to_string(a), std::to_string(b), {}, &out);
  }
  return out;
}

std::vector<GrammarSequence> IntegerRange(int64_t lo, int64_t hi) {
  std::vector<GrammarSequence> out;
  if (hi >= 0) out = UnsignedRange(std::max<int64_t>(lo, 0), hi);
  if (lo < 0) {
    for (GrammarSequence& s : UnsignedRange(std::max<int64_t>(-hi, 1), -lo)) {
      s.insert(s.begin(), GrammarItem::Literal("-"));
      out.push_back(std::move(s));
    }
  }
  return out;
}

void AddNumberRange(GrammarBuilder& builder, uint32_t rule, std::optional<NumberBound> lower,
                    std::optional<NumberBound> upper) {
  NumberWriter writer(builder, rule);
  // Positive numbers (and zero): the magnitude is the value.
  writer.AddSide("", Side{lower, upper});
  // Negative numbers: v >= lower means magnitude <= -lower, v <= upper means magnitude >= -upper.
  Side negative;
  if (upper) negative.lower = NumberBound{-upper->value, upper->exclusive};
  if (lower) negative.upper = NumberBound{-lower->value, lower->exclusive};
  writer.AddSide("-", negative);
}

}  // namespace llmw::structured
