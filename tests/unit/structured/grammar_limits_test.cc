// Hostile grammars: each limit in grammar.h refuses its grammar quickly, and grammars just
// inside the limits compile and match.
#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "worker/structured/grammar.h"
#include "worker/structured/matcher.h"

namespace llmw::structured {
namespace {

using ::testing::HasSubstr;

// Parses `text`, checking it takes under 5 s: each takes milliseconds in a release build, and
// the bound must hold under sanitizers on a loaded 2-core machine too.
absl::StatusOr<std::shared_ptr<const Grammar>> TimedParse(const std::string& text) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::shared_ptr<const Grammar>> g = ParseGrammar(text);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 5.0) << text.substr(0, 80);
  return g;
}

void ExpectRefused(const std::string& text, const std::string& error) {
  absl::StatusOr<std::shared_ptr<const Grammar>> g = TimedParse(text);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(g.status().message()), HasSubstr(error));
}

std::string Nested(int depth) {
  return "root ::= " + std::string(depth, '(') + "\"a\"" + std::string(depth, ')');
}

TEST(GrammarLimits, NestingDepth) {
  ASSERT_TRUE(TimedParse(Nested(kMaxNesting)).ok());
  ExpectRefused(Nested(kMaxNesting + 1), "groups nested deeper than 64 at 1:74");
  ExpectRefused(Nested(100'000), "groups nested deeper than 64");
}

TEST(GrammarLimits, RepetitionBounds) {
  absl::StatusOr<std::shared_ptr<const Grammar>> g = TimedParse("root ::= \"ab\"{0,10000}");
  ASSERT_TRUE(g.ok()) << g.status();
  GrammarMatcher m(*g);
  std::string text;
  for (int i = 0; i < 10'000; ++i) text += "ab";
  EXPECT_TRUE(m.Accept(text));
  EXPECT_TRUE(m.CanEnd());
  EXPECT_FALSE(m.Accept("a"));
  ExpectRefused("root ::= \"a\"{10001}", "repetition bound over the limit of 10000");
  ExpectRefused("root ::= \"a\"{1,99999999999999999999}", "over the limit of 10000");
  // Each repetition is within bounds; together they would expand past kMaxCompiledElements.
  std::string many = "root ::=";
  for (int i = 0; i < 250; ++i) many += " [a-z]{10000,10000}";
  ExpectRefused(many, "grammar expands to more than 2097152 elements");
  std::string optional = "root ::=";
  for (int i = 0; i < 30; ++i) optional += " \"a\"{0,10000}";
  ExpectRefused(optional, "rules with its groups and repetitions");
}

TEST(GrammarLimits, RuleCount) {
  // A chain r0 -> r1 -> ... of kMaxRules rules compiles and matches; one more is refused.
  auto chain = [](size_t n) {
    std::string text = "root ::= r0\n";
    for (size_t i = 0; i + 1 < n; ++i) {
      absl::StrAppend(&text, "r", i, " ::= \"x\" r", i + 1, "\n");
    }
    return absl::StrCat(text, "r", n - 1, " ::= \"y\"\n");
  };
  absl::StatusOr<std::shared_ptr<const Grammar>> g = TimedParse(chain(kMaxRules - 1));
  ASSERT_TRUE(g.ok()) << g.status();
  GrammarMatcher m(*g);
  EXPECT_TRUE(m.Accept(std::string(kMaxRules - 2, 'x') + "y"));
  EXPECT_TRUE(m.CanEnd());
  ExpectRefused(chain(kMaxRules), "more than 10000 rules");
}

TEST(GrammarLimits, TextSize) {
  ExpectRefused("root ::= \"" + std::string(kMaxGrammarBytes, 'a') + "\"",
                "over the limit of 1048576");
}

// r_i ::= r_(i+1) r_(i+1), all possibly empty: 2^depth distinct parse stacks after a byte.
std::string Doubling(int depth) {
  std::string text = "root ::= r0 \"!\"\n";
  for (int i = 0; i < depth; ++i) {
    absl::StrAppend(&text, "r", i, " ::= r", i + 1, " r", i + 1, "\n");
  }
  return absl::StrCat(text, "r", depth, " ::= \"a\"?\n");
}

TEST(GrammarLimits, AmbiguityIsCutOffPerByte) {
  absl::StatusOr<std::shared_ptr<const Grammar>> small = TimedParse(Doubling(4));
  ASSERT_TRUE(small.ok()) << small.status();
  GrammarMatcher m(*small);
  EXPECT_TRUE(m.Accept(std::string(16, 'a') + "!"));
  EXPECT_TRUE(m.CanEnd());

  absl::StatusOr<std::shared_ptr<const Grammar>> huge = TimedParse(Doubling(40));
  ASSERT_TRUE(huge.ok()) << huge.status();
  const auto start = std::chrono::steady_clock::now();
  GrammarMatcher refused(*huge);
  EXPECT_FALSE(refused.Accept("a!"));
  EXPECT_FALSE(refused.CanEnd());
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
}

}  // namespace
}  // namespace llmw::structured
