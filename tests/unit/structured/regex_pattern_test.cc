// Patterns against std::regex (ECMAScript, whole-string match) on every short string of a small
// alphabet: fixed patterns covering each construct, and random ones built from them.
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/unit/structured/schema_test_util.h"

namespace llmw::structured {
namespace {

std::vector<std::string> StringsUpTo(const std::string& alphabet, size_t max_length) {
  std::vector<std::string> out = {""};
  for (size_t begin = 0, length = 1; length <= max_length; ++length) {
    const size_t end = out.size();
    for (size_t i = begin; i < end; ++i) {
      for (char c : alphabet) out.push_back(out[i] + c);
    }
    begin = end;
  }
  return out;
}

// Compares the pattern's grammar with std::regex on `strings`.
void ExpectSameStrings(const std::string& pattern, const std::vector<std::string>& strings) {
  const std::string schema =
      R"({"type":"string","pattern":)" + nlohmann::json(pattern).dump() + "}";
  std::shared_ptr<const Grammar> g = CompileSchema(schema);
  ASSERT_NE(g, nullptr) << pattern;
  const std::regex re(pattern, std::regex::ECMAScript);
  GrammarMatcher m(g);
  for (const std::string& s : strings) {
    const bool got = m.Accept("\"" + s + "\"") && m.CanEnd();
    m.Rewind(m.consumed());
    ASSERT_EQ(got, std::regex_match(s, re)) << "pattern " << pattern << " on \"" << s << "\"";
  }
}

TEST(RegexPattern, EachConstructAgreesWithStdRegex) {
  const std::vector<std::string> strings = StringsUpTo("ab0-_ .", 4);
  for (const char* pattern : {"a",       "^ab$",        "a|b0",         "(a|b)*",
                              "(?:ab)+", "a?b?",        "[ab]{2}",      "[ab]{1,3}",
                              "[^a]*",   "[a-b0]+",     "[-a]+",        "[a-]+",
                              "\\d+",    "\\D",         "\\w*",         "\\W+",
                              "\\s\\S",  "[\\d_]+",     "[^\\d.]+",     ".",
                              ".*a",     "a{0}",        "a{2,}",        "(a*)*",
                              "(a|)+b",  "(?:a?b?)*0",  "\\.\\-",       "(a|ab)(b|)",
                              "a*?b+?",  "[.]",         "\\x61\\u0062", "(((a)))",
                              "()a",     "(a{1,2}){2}", "[^ -~]",       "a|b|0|-|_| |\\."}) {
    ExpectSameStrings(pattern, strings);
  }
}

// Random patterns over a three-letter alphabet, from literals, classes, `.`, groups,
// alternation and every quantifier.
std::string RandomPattern(std::mt19937& rng, int depth) {
  const int kind = static_cast<int>(rng() % (depth > 2 ? 4 : 7));
  static const char* const kAtoms[] = {"a", "b", "c", "[ab]", "[^a]", ".", "\\w", "[a-c]"};
  static const char* const kQuantifiers[] = {"*", "+", "?", "{2}", "{0,2}", "{1,}", "*?", "{1,3}"};
  switch (kind) {
    case 0:
    case 1:
    case 2:
      return kAtoms[rng() % 8];
    case 3:
      return RandomPattern(rng, depth + 1) + RandomPattern(rng, depth + 1);
    case 4:
      return "(" + RandomPattern(rng, depth + 1) + "|" + RandomPattern(rng, depth + 1) + ")";
    case 5:
      return "(?:" + RandomPattern(rng, depth + 1) + ")" + kQuantifiers[rng() % 8];
    default:
      return RandomPattern(rng, depth + 1) + RandomPattern(rng, depth + 1) +
             RandomPattern(rng, depth + 1);
  }
}

TEST(RegexPattern, RandomPatternsAgreeWithStdRegex) {
  std::mt19937 rng(5);
  const std::vector<std::string> strings = StringsUpTo("abcd", 5);
  for (int i = 0; i < 150; ++i) ExpectSameStrings(RandomPattern(rng, 0), strings);
}

}  // namespace
}  // namespace llmw::structured
