// GrammarMatcher: strings accepted and rejected for each construct, agreement with std::regex on
// every short string for regular grammars, byte-at-a-time == whole string, rewinding, and UTF-8
// characters split across Accept calls.
#include "worker/structured/matcher.h"

#include <regex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/structured/parse.h"
#include "worker/structured/grammar.h"
#include "worker/structured/json_grammar.h"

namespace llmw::structured {
namespace {

bool Matches(const std::shared_ptr<const Grammar>& g, std::string_view s) {
  GrammarMatcher m(g);
  return m.Accept(s) && m.CanEnd();
}

struct Case {
  const char* grammar;
  std::vector<std::string> accepted;
  std::vector<std::string> rejected;
};

TEST(GrammarMatcher, AcceptsAndRejectsPerConstruct) {
  const Case cases[] = {
      {R"(root ::= "abc")", {"abc"}, {"", "ab", "abcd", "abd"}},
      {R"(root ::= "a" | "bc" | "")", {"a", "bc", ""}, {"b", "abc", "c"}},
      {R"(root ::= [a-c0-9_]+)", {"a", "c9_", "000"}, {"", "d", "A", "a-"}},
      {R"(root ::= [^"\\]*)", {"", "abc", "日本", "'"}, {"\"", "a\\b"}},
      {R"(root ::= . .)", {"ab", "日本", "a😀"}, {"a", "abc", ""}},
      {R"(root ::= [^é]+)", {"èa日", "e"}, {"é", "aé", ""}},
      {R"(root ::= ("ab" | "c")* "!")", {"!", "ab!", "cabc!"}, {"a!", "abab", "b!"}},
      {R"(root ::= "a"+ "b"? "c")", {"ac", "aaabc"}, {"c", "abbc", "ab"}},
      {R"(root ::= "x"{3})", {"xxx"}, {"xx", "xxxx"}},
      {R"(root ::= "x"{2,})", {"xx", "xxxxxx"}, {"x", ""}},
      {R"(root ::= "x"{1,3} "y"{0})", {"x", "xxx"}, {"", "xxxx", "xy"}},
      {R"(root ::= "ab"{2,3})", {"abab", "ababab"}, {"ab", "abababab", "aba"}},
      {R"(root ::= "\n\t\\\"\u00e9\x41")", {"\n\t\\\"éA"}, {"\n\t\\\"eA"}},
      {R"(root ::= [\u0400-\u04FF]+ [\x00-\x1f])", {"Привет\n"}, {"Hello\n", "При"}},
      {"root ::= \"(\" root \")\" | \"\"  # balanced parentheses\n",
       {"", "()", "((()))"},
       {"(", "())", ")("}},
      {"root ::= list\nlist ::= item (\",\" item)*\nitem ::= [0-9]+ | \"[\" list \"]\"",
       {"1", "1,22", "[1,[2,3]],4"},
       {"", "1,", "[1", "[]"}},
      {kJsonValueGrammar,
       {R"({"a": [1, 2.5e-3, true, null], "b": {"c": "d\n\u00e9"}})", " [ ] ", "-0", "\"日本\""},
       {"{", R"({"a" 1})", "01", "[1,]", R"("\x")", "{\"a\":1,}", "\"a\nb\""}},
  };
  for (const Case& c : cases) {
    std::shared_ptr<const Grammar> g = Parse(c.grammar);
    ASSERT_NE(g, nullptr);
    for (const std::string& s : c.accepted) EXPECT_TRUE(Matches(g, s)) << c.grammar << " / " << s;
    for (const std::string& s : c.rejected) EXPECT_FALSE(Matches(g, s)) << c.grammar << " / " << s;
  }
}

// Every string over `alphabet` up to `max_length` characters.
template <typename Char>
std::vector<std::basic_string<Char>> AllStrings(std::basic_string_view<Char> alphabet,
                                                int max_length) {
  std::vector<std::basic_string<Char>> out = {{}};
  for (size_t begin = 0, length = 0; length < static_cast<size_t>(max_length); ++length) {
    const size_t end = out.size();
    for (size_t i = begin; i < end; ++i) {
      for (Char c : alphabet) out.push_back(out[i] + c);
    }
    begin = end;
  }
  return out;
}

std::string Utf8(const std::string& s) { return s; }

std::string Utf8(const std::wstring& s) {
  std::string out;
  for (wchar_t wc : s) {
    const auto c = static_cast<uint32_t>(wc);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
    } else if (c < 0x10000) {
      out += {static_cast<char>(0xE0 | (c >> 12)), static_cast<char>(0x80 | ((c >> 6) & 0x3F)),
              static_cast<char>(0x80 | (c & 0x3F))};
    } else {
      out += {static_cast<char>(0xF0 | (c >> 18)), static_cast<char>(0x80 | ((c >> 12) & 0x3F)),
              static_cast<char>(0x80 | ((c >> 6) & 0x3F)), static_cast<char>(0x80 | (c & 0x3F))};
    }
  }
  return out;
}

// The grammar accepts exactly the strings the regular expression matches (std::regex over
// bytes, std::wregex over code points while the grammar reads their UTF-8).
template <typename Char>
void ExpectAgreesWithRegex(const char* grammar, const Char* pattern,
                           const std::vector<std::basic_string<Char>>& strings) {
  std::shared_ptr<const Grammar> g = Parse(grammar);
  ASSERT_NE(g, nullptr);
  const std::basic_regex<Char> re(pattern);
  int matched = 0;
  for (const std::basic_string<Char>& s : strings) {
    const bool expected = std::regex_match(s, re);
    matched += expected;
    ASSERT_EQ(Matches(g, Utf8(s)), expected) << grammar << " / " << Utf8(s);
  }
  EXPECT_GT(matched, 10) << grammar;
}

TEST(GrammarMatcher, AgreesWithRegexOnEveryShortString) {
  const std::pair<const char*, const char*> pairs[] = {
      {R"(root ::= ("ab" | [c-e]+)* "x"?)", "(ab|[c-e]+)*x?"},
      {R"(root ::= "a"{1,3} ("b" | "cd"){2,} [^a-c]?)", "a{1,3}(b|cd){2,}[^a-c]?"},
      {"root ::= x y\nx ::= [a-b]* \"c\"\ny ::= (\"d\" x)? | \"e\"+", "[ab]*c((d[ab]*c)?|e+)"},
      {R"(root ::= ("a" | "b" "c"?){0,4} "d"{0,2} .)", "(a|bc?){0,4}d{0,2}."},
  };
  const std::vector<std::string> strings = AllStrings(std::string_view("abcdex"), 6);
  for (const auto& [grammar, pattern] : pairs) ExpectAgreesWithRegex(grammar, pattern, strings);
}

// The same over code points: the grammar reads UTF-8 bytes, std::wregex reads code points.
TEST(GrammarMatcher, AgreesWithRegexOnNonAsciiStrings) {
  const std::pair<const char*, const wchar_t*> pairs[] = {
      {R"(root ::= ([^é日] | "日" "a")* "é"?)", L"([^é日]|日a)*é?"},
      {R"(root ::= [à-ÿ]+ .)", L"[à-ÿ]+[^]"},
      {R"(root ::= [\u00e0-\u65e5]{1,2} [^\U0001F600]*)", L"[\u00e0-\u65e5]{1,2}[^\U0001F600]*"},
      {R"(root ::= ("😀" | [a-é])+ [本-\U0001F600]?)", L"(\U0001F600|[a-é])+[本-\U0001F600]?"},
  };
  const std::vector<std::wstring> strings = AllStrings(std::wstring_view(L"aéè日本\U0001F600"), 5);
  for (const auto& [grammar, pattern] : pairs) ExpectAgreesWithRegex(grammar, pattern, strings);
}

TEST(GrammarMatcher, ByteAtATimeEqualsWholeString) {
  std::shared_ptr<const Grammar> g = Parse(kJsonValueGrammar);
  ASSERT_NE(g, nullptr);
  const std::string inputs[] = {R"({"k": ["v", 1e5, {"é": false}]})", R"({"k": [1,, 2]})",
                                "[\"日本語\", -12.5]", "[\"\xE6\x97\"]"};
  for (const std::string& s : inputs) {
    GrammarMatcher whole(g);
    const bool whole_ok = whole.Accept(s);
    GrammarMatcher bytes(g);
    size_t accepted = 0;
    while (accepted < s.size() && bytes.Accept(static_cast<uint8_t>(s[accepted]))) ++accepted;
    EXPECT_EQ(whole_ok, accepted == s.size()) << s;
    if (whole_ok) {
      EXPECT_EQ(whole.CanEnd(), bytes.CanEnd()) << s;
      EXPECT_EQ(whole.state().tops, bytes.state().tops) << s;
    } else {
      EXPECT_EQ(whole.consumed(), 0u) << "a refused Accept leaves the state as it was";
    }
  }
}

TEST(GrammarMatcher, RewindRestoresEarlierStates) {
  std::shared_ptr<const Grammar> g = Parse(kJsonValueGrammar);
  ASSERT_NE(g, nullptr);
  GrammarMatcher m(g);
  ASSERT_TRUE(m.Accept(R"({"a": 1)"));
  const MatchState before = m.state();
  ASSERT_TRUE(m.Accept(R"(, "b": [true)"));
  m.Rewind(12);
  EXPECT_EQ(m.consumed(), 7u);
  EXPECT_EQ(m.state().tops, before.tops);
  EXPECT_FALSE(m.Accept("]"));
  ASSERT_TRUE(m.Accept("}"));
  EXPECT_TRUE(m.CanEnd());
  m.Rewind(100);
  EXPECT_EQ(m.consumed(), 0u);
  EXPECT_TRUE(m.Accept("[]"));
  EXPECT_TRUE(m.CanEnd());
}

TEST(GrammarMatcher, Utf8CharactersSplitAcrossCalls) {
  std::shared_ptr<const Grammar> g = Parse(R"(root ::= "é" [日-月] "😀")");
  ASSERT_NE(g, nullptr);
  GrammarMatcher m(g);
  ASSERT_TRUE(m.Accept("\xC3"));
  EXPECT_FALSE(m.CanEnd());
  ASSERT_TRUE(m.Accept("\xA9\xE6"));
  EXPECT_FALSE(m.Accept("\x96")) << "U+6580..U+65BF all lie before U+65E5";
  ASSERT_TRUE(m.Accept("\x97"));
  ASSERT_TRUE(m.Accept("\xA5\xF0\x9F"));
  EXPECT_FALSE(m.CanEnd());
  EXPECT_FALSE(m.Accept("\x98\x81")) << "U+1F601 is not the literal's character";
  ASSERT_TRUE(m.Accept("\x98\x80"));
  EXPECT_TRUE(m.CanEnd());
}

TEST(GrammarMatcher, InvalidUtf8IsRejectedEvenByAnyCharacter) {
  std::shared_ptr<const Grammar> g = Parse("root ::= .*");
  ASSERT_NE(g, nullptr);
  for (std::string bad : {"\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xED\xA0\x80",
                          "\xF4\x90\x80\x80", "\xF5", "\x80", "\xC3\x41"}) {
    GrammarMatcher m(g);
    EXPECT_FALSE(m.Accept(bad)) << ::testing::PrintToString(bad);
  }
  EXPECT_TRUE(Matches(g, "\x7F\xC2\x80\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF"));
}

}  // namespace
}  // namespace llmw::structured
