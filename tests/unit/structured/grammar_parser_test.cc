// The grammar notation's parser: each construct parses, each error names its line:column.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "worker/structured/grammar.h"
#include "worker/structured/json_grammar.h"

namespace llmw::structured {
namespace {

using ::testing::HasSubstr;

TEST(GrammarParser, ParsesEveryConstruct) {
  const char* grammars[] = {
      R"(root ::= "abc")",
      R"(root ::= "a" | "b" | "")",
      R"(root ::= [a-z0-9_] [^"\\] .)",
      R"(root ::= ("a" "b")* "c"+ "d"? "e"{2} "f"{1,} "g"{0,3})",
      R"(root ::= "\n\t\r\\\"\'\x41\u00e9\U0001F600" [\[\]\-\x00-\x1f\u2000-\u206F])",
      "root ::= item # a comment\n  item  # the rule goes on\n item ::= \"x\" # ends\n",
      "root ::= a-b_1\na-b_1 ::= \"日本\" [à-ÿ]",
      "root::=\"a\"|\"b\"",
      "root ::= ( ( \"a\" | \"b\" ) { 1 , 2 } )",
      kJsonValueGrammar,
  };
  for (const char* g : grammars) {
    absl::StatusOr<std::shared_ptr<const Grammar>> parsed = ParseGrammar(g);
    EXPECT_TRUE(parsed.ok()) << g << "\n" << parsed.status();
  }
}

struct BadGrammar {
  std::string text;
  std::string error;  // a substring of the message
};

TEST(GrammarParser, RefusesWithProblemAndPosition) {
  const BadGrammar cases[] = {
      {"", "empty grammar at 1:1"},
      {"  # only a comment\n", "empty grammar at 2:1"},
      {"root ::= foo", "undefined rule 'foo' at 1:10"},
      {"root ::= \"a\"\n  \"b\" foo", "undefined rule 'foo' at 2:7"},
      {"main ::= \"a\"", "no rule named 'root' at 1:1"},
      {"root ::= \"abc", "unterminated literal at 1:10"},
      {"root ::= \"ab\nc\"", "unterminated literal at 1:10"},
      {"root ::= [a-z", "unterminated character class at 1:10"},
      {"root ::= []", "empty character class at 1:10"},
      {"root ::= [z-a]", "character range out of order at 1:11"},
      {"root ::= \"\\q\"", "bad escape '\\q' at 1:11"},
      {"root ::= \"\\x4\"", "bad escape: \\x needs 2 hex digits at 1:11"},
      {"root ::= \"\\uD800\"", "not a Unicode scalar value at 1:11"},
      {"root ::= \"\xC3\"", "invalid UTF-8 at 1:11"},
      {"root ::= \"a\"{3,1}", "repetition bounds {3,1}: the minimum exceeds the maximum at 1:13"},
      {"root ::= \"a\"{20000}", "repetition bound over the limit of 10000 at 1:14"},
      {"root ::= \"a\"{2", "unterminated repetition bounds at 1:13"},
      {"root ::= \"a\"{x}", "expected a number in repetition bounds at 1:14"},
      {"root ::= \"a\"{1 2}", "expected '}' in repetition bounds at 1:16"},
      {"root ::= *", "'*' with nothing to repeat at 1:10"},
      {"root ::= \"a\" | +", "'+' with nothing to repeat at 1:16"},
      {"root ::= (\"a\"", "unterminated group at 1:10"},
      {"root ::= (\"a\"\nx ::= \"b\"", "unterminated group at 1:10"},
      {"root ::= \"a\" )", "unmatched ')' at 1:14"},
      {"root ::= \"a\" @", "unexpected character '@' at 1:14"},
      {"root = \"a\"", "expected '::=' after rule name 'root' at 1:6"},
      {"::= \"a\"", "expected a rule name at 1:1"},
      {"root ::= \"a\"\nroot ::= \"b\"", "rule 'root' is defined twice at 2:1"},
      {"root ::= root \"a\" | \"b\"", "rule 'root' is left-recursive"},
      {"root ::= x\nx ::= y? root \"a\"\ny ::= \"b\"", "rule 'root' is left-recursive"},
      {"root ::= (\"a\"?)*", "repetition of something that can match the empty string at 1:16"},
      {"root ::= x+\nx ::= \"a\" | \"\"", "repetition of something that can match the empty"},
  };
  for (const BadGrammar& c : cases) {
    absl::StatusOr<std::shared_ptr<const Grammar>> parsed = ParseGrammar(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.error)) << c.text;
  }
}

TEST(GrammarParser, LeftRecursionIsReportedAtTheRule) {
  absl::StatusOr<std::shared_ptr<const Grammar>> parsed =
      ParseGrammar("root ::= expr\nexpr ::= expr \"+\" \"1\" | \"1\"");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()),
              HasSubstr("rule 'expr' is left-recursive (it can reach itself without matching a "
                        "character) at 2:1"));
}

}  // namespace
}  // namespace llmw::structured
