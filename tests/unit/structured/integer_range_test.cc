// Integer and number bounds against arithmetic: every integer of a window for random ranges,
// boundary values of ranges up to 16 digits, and decimals near random whole-number bounds (as
// exact decimals where rounding cannot matter, and as doubles, the way validators read them).
#include "worker/structured/integer_range.h"

#include <cstdlib>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/unit/structured/schema_test_util.h"

namespace llmw::structured {
namespace {

// Reuses one matcher for many whole-string checks.
class Checker {
 public:
  explicit Checker(std::shared_ptr<const Grammar> g) : m_(std::move(g)) {}
  bool operator()(const std::string& text) {
    const bool ok = m_.Accept(text) && m_.CanEnd();
    m_.Rewind(m_.consumed());
    return ok;
  }

 private:
  GrammarMatcher m_;
};

struct Bounds {
  std::string schema = R"({"type":"integer")";
  bool has_lower = false, has_upper = false, lower_exclusive = false, upper_exclusive = false;
  double lower = 0, upper = 0;

  void Add(const char* keyword, double value, bool is_lower, bool exclusive) {
    schema += std::string(",\"") + keyword + "\":" + nlohmann::json(value).dump();
    (is_lower ? has_lower : has_upper) = true;
    (is_lower ? lower : upper) = value;
    (is_lower ? lower_exclusive : upper_exclusive) = exclusive;
  }
  bool Allows(double v) const {
    if (has_lower && (lower_exclusive ? v <= lower : v < lower)) return false;
    if (has_upper && (upper_exclusive ? v >= upper : v > upper)) return false;
    return true;
  }
};

TEST(IntegerRange, EveryIntegerOfAWindow) {
  std::mt19937 rng(7);
  int compiled = 0;
  for (int c = 0; c < 60; ++c) {
    Bounds b;
    auto bound = [&] {
      const double v = static_cast<double>(static_cast<int>(rng() % 2201) - 1100);
      return rng() % 5 == 0 ? v + 0.5 : v;  // integer schemas take fractional bounds too
    };
    // Each side: inclusive, exclusive or none.
    for (const bool lower : {true, false}) {
      const int kind = static_cast<int>(rng() % 3);
      if (kind == 2) continue;
      const char* names[2][2] = {{"maximum", "exclusiveMaximum"}, {"minimum", "exclusiveMinimum"}};
      b.Add(names[lower][kind], bound(), lower, kind == 1);
    }
    b.schema += "}";
    bool any = false;
    for (int v = -1200; v <= 1200 && !any; ++v) any = b.Allows(v);
    if (!any) {
      EXPECT_FALSE(Refusal(b.schema).empty());
      continue;
    }
    std::shared_ptr<const Grammar> g = CompileSchema(b.schema);
    ASSERT_NE(g, nullptr);
    ++compiled;
    Checker matches(g);
    for (int v = -1200; v <= 1200; ++v) {
      ASSERT_EQ(matches(std::to_string(v)), b.Allows(v)) << b.schema << " " << v;
    }
    if (b.has_lower || b.has_upper) {
      EXPECT_FALSE(matches("-0"));
    }
    EXPECT_FALSE(matches("007"));
  }
  EXPECT_GT(compiled, 30);
}

TEST(IntegerRange, BoundariesOfLargeRanges) {
  std::mt19937_64 rng(11);
  for (int c = 0; c < 200; ++c) {
    auto random_value = [&] {
      // Spread over every digit count.
      const int digits = 1 + static_cast<int>(rng() % kMaxIntegerDigits);
      int64_t limit = 1;
      for (int i = 0; i < digits; ++i) limit *= 10;
      const int64_t v = static_cast<int64_t>(rng() % static_cast<uint64_t>(limit));
      return rng() % 3 == 0 ? -v : v;
    };
    int64_t lo = random_value(), hi = random_value();
    if (lo > hi) std::swap(lo, hi);
    std::vector<GrammarSequence> alternatives = IntegerRange(lo, hi);
    GrammarBuilder builder;
    const uint32_t root = builder.NewRule("root");
    for (GrammarSequence& s : alternatives) builder.Add(root, std::move(s));
    absl::StatusOr<std::string> text = builder.Write(root, "");
    ASSERT_TRUE(text.ok()) << text.status();
    std::shared_ptr<const Grammar> g = Parse(*text);
    ASSERT_NE(g, nullptr);
    Checker matches(g);
    std::vector<int64_t> probes = {lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, 0, -1, 1};
    for (int i = 0; i < 20; ++i) {
      probes.push_back(lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1)));
      probes.push_back(random_value());
    }
    for (int64_t v : probes) {
      if (v < -kLargestInteger || v > kLargestInteger) continue;
      ASSERT_EQ(matches(std::to_string(v)), v >= lo && v <= hi) << lo << ".." << hi << ": " << v;
    }
  }
}

TEST(NumberRange, DecimalsNearWholeNumberBounds) {
  std::mt19937 rng(3);
  for (int c = 0; c < 60; ++c) {
    Bounds b;
    b.schema = R"({"type":"number")";
    const int lo = static_cast<int>(rng() % 41) - 20;
    const int hi = lo + static_cast<int>(rng() % 6);
    if (rng() % 4 != 0) b.Add(rng() % 2 ? "minimum" : "exclusiveMinimum", lo, true, false);
    if (rng() % 4 != 0) b.Add(rng() % 2 ? "maximum" : "exclusiveMaximum", hi, false, false);
    b.lower_exclusive = b.schema.find("exclusiveMinimum") != std::string::npos;
    b.upper_exclusive = b.schema.find("exclusiveMaximum") != std::string::npos;
    b.schema += "}";
    bool any =
        !(b.has_lower && b.has_upper && lo == hi && (b.lower_exclusive || b.upper_exclusive));
    if (!any) {
      EXPECT_FALSE(Refusal(b.schema).empty()) << b.schema;
      continue;
    }
    std::shared_ptr<const Grammar> g = CompileSchema(b.schema);
    ASSERT_NE(g, nullptr);
    Checker matches(g);
    // Thousandths from -25 to 25: exact decimals far from any rounding.
    for (int milli = -25'000; milli <= 25'000; milli += 125) {
      const int whole = std::abs(milli) / 1000, frac = std::abs(milli) % 1000;
      std::string text = absl::StrCat(milli < 0 ? "-" : "", whole);
      if (frac != 0 || rng() % 2)
        absl::StrAppend(&text, ".", std::to_string(1000 + frac).substr(1));
      const double value = milli / 1000.0;
      ASSERT_EQ(matches(text), b.Allows(value)) << b.schema << " " << text;
    }
    // Many fraction digits next to the bounds: whatever is accepted reads back in bounds.
    for (int edge : {lo, hi}) {
      for (int side = -1; side <= 0; ++side) {
        for (int digits = 10; digits <= 17; ++digits) {
          const int base = edge + side;
          std::string text = absl::StrCat(base < 0 ? "-" : "", std::abs(base), ".",
                                          std::string(digits, base < 0 ? '0' : '9'));
          text.back() = base < 0 ? '1' : '9';
          if (matches(text)) {
            EXPECT_TRUE(b.Allows(std::strtod(text.c_str(), nullptr))) << text;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace llmw::structured
