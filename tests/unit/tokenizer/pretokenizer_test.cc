// Tests of the pre-tokenizer matchers against pieces worked out from their regexes.
#include "models/tokenizer/pretokenizer.h"

#include <utf8proc.h>

#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/tokenizer/unicode.h"
#include "tests/unit/tokenizer/fixtures.h"

namespace llmw {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Pieces(PreTokenizer kind, std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view p : PreTokenize(kind, text)) out.emplace_back(p);
  return out;
}

TEST(PreTokenizerTest, Names) {
  EXPECT_EQ(*PreTokenizerFromName("gpt-2"), PreTokenizer::kGpt2);
  EXPECT_EQ(*PreTokenizerFromName("phi-2"), PreTokenizer::kGpt2);
  EXPECT_EQ(*PreTokenizerFromName("smollm"), PreTokenizer::kSmolLm);
  EXPECT_EQ(*PreTokenizerFromName("llama-bpe"), PreTokenizer::kLlama3);
  EXPECT_EQ(*PreTokenizerFromName("llama3"), PreTokenizer::kLlama3);
  EXPECT_EQ(*PreTokenizerFromName("qwen2"), PreTokenizer::kQwen2);
  absl::StatusOr<PreTokenizer> bad = PreTokenizerFromName("deepseek-llm");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("'deepseek-llm'"));
  EXPECT_THAT(bad.status().message(), HasSubstr("gpt-2, phi-2, smollm, llama-bpe, llama3, qwen2"));
}

TEST(PreTokenizerTest, Gpt2) {
  const auto k = PreTokenizer::kGpt2;
  EXPECT_THAT(Pieces(k, ""), ElementsAre());
  EXPECT_THAT(Pieces(k, "Hello world's  test"), ElementsAre("Hello", " world", "'s", " ", " test"));
  EXPECT_THAT(Pieces(k, "x \t\ny"), ElementsAre("x", " \t", "\n", "y"));
  EXPECT_THAT(Pieces(k, "end  "), ElementsAre("end", "  "));
  EXPECT_THAT(Pieces(k, "'S 'll"), ElementsAre("'", "S", " '", "ll"));
  EXPECT_THAT(Pieces(k, "a1234 !?  x"), ElementsAre("a", "1234", " !?", " ", " x"));
  EXPECT_THAT(Pieces(k, "a\u00A0b"), ElementsAre("a", "\u00A0", "b"));    // \s
  EXPECT_THAT(Pieces(k, "a\u200Bb"), ElementsAre("a", "\u200B", "b"));    // not \s
  EXPECT_THAT(Pieces(k, "cafe\u0301!"), ElementsAre("cafe", "\u0301!"));  // marks are not \p{L}
}

TEST(PreTokenizerTest, SmolLmSplitsDigitsFirst) {
  const auto k = PreTokenizer::kSmolLm;
  EXPECT_THAT(Pieces(k, "abc 123"), ElementsAre("abc", " ", "1", "2", "3"));
  EXPECT_THAT(Pieces(k, "a  1"), ElementsAre("a", "  ", "1"));  // (?!\S) sees only "a  "
  EXPECT_THAT(Pieces(k, "x\u00B2+\u0663"), ElementsAre("x", "\u00B2", "+", "\u0663"));
}

TEST(PreTokenizerTest, Llama3) {
  const auto k = PreTokenizer::kLlama3;
  EXPECT_THAT(Pieces(k, "12345"), ElementsAre("123", "45"));
  EXPECT_THAT(Pieces(k, "'S 'LL"), ElementsAre("'S", " '", "LL"));
  EXPECT_THAT(Pieces(k, "Hello\n\n  world"), ElementsAre("Hello", "\n\n", " ", " world"));
  EXPECT_THAT(Pieces(k, "(hello)\r\n"), ElementsAre("(hello", ")\r\n"));
  EXPECT_THAT(Pieces(k, "foo!!!\n\nbar"), ElementsAre("foo", "!!!\n\n", "bar"));
  EXPECT_THAT(Pieces(k, "  \n  \n  x"), ElementsAre("  \n  \n", " ", " x"));
  EXPECT_THAT(Pieces(k, "a\u200Bb"), ElementsAre("a", "\u200Bb"));
  EXPECT_THAT(Pieces(k, "\n1x"), ElementsAre("\n", "1", "x"));
}

TEST(PreTokenizerTest, Qwen2SplitsSingleDigits) {
  EXPECT_THAT(Pieces(PreTokenizer::kQwen2, "x12345"), ElementsAre("x", "1", "2", "3", "4", "5"));
}

TEST(PreTokenizerTest, LongWhitespaceRunIsOnePiece) {
  const std::string text = "x" + std::string(5000, ' ') + "y";
  for (auto k : {PreTokenizer::kGpt2, PreTokenizer::kLlama3}) {
    EXPECT_THAT(Pieces(k, text), ElementsAre("x", std::string(4999, ' '), " y"));
  }
}

TEST(PreTokenizerTest, InvalidBytesAreSplitLikeReplacementCharacters) {
  EXPECT_THAT(Pieces(PreTokenizer::kGpt2,
                     "a\x80\xFF"
                     "b"),
              ElementsAre("a", "\x80\xFF", "b"));
}

TEST(PreTokenizerTest, PiecesCoverRandomBytes) {
  std::mt19937 rng(7);
  for (auto k :
       {PreTokenizer::kGpt2, PreTokenizer::kSmolLm, PreTokenizer::kLlama3, PreTokenizer::kQwen2}) {
    for (int trial = 0; trial < 200; ++trial) {
      std::string text(rng() % 64, '\0');
      for (char& c : text)
        c = static_cast<char>(rng() % 3 == 0 ? rng() : " a1'\n\xC3\xA9"[rng() % 8]);
      std::string joined;
      for (std::string_view p : PreTokenize(k, text)) {
        EXPECT_FALSE(p.empty());
        joined += p;
      }
      EXPECT_EQ(joined, text);
    }
  }
}

// Whether `text` has a code point that utf8proc's Unicode version (15.0 in utf8proc 2.8) leaves
// unassigned. The reference's tables are newer, so such characters (CJK extension I, scripts of
// Unicode 16) may be letters there.
bool HasCodePointNewerThanUtf8proc(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t len;
    const char32_t cp = DecodeUtf8Lenient(text.substr(i), &len);
    if (utf8proc_category(static_cast<utf8proc_int32_t>(cp)) == UTF8PROC_CATEGORY_CN &&
        cp != 0x0378) {  // U+0378 is unassigned in every version
      return true;
    }
    i += len;
  }
  return false;
}

// Pieces from llama.cpp (see make_tokenizer_fixtures.py: a vocabulary that turns each piece into
// one token shows where the reference splits).
TEST(PreTokenizerTest, MatchesReferencePieces) {
  const nlohmann::json fixture = tokenizer_test::ReadFixture("pretokenizer_pieces.json");
  const nlohmann::json& probes = fixture["probes"];
  ASSERT_GE(probes.size(), 50u);
  int matched = 0, newer_unicode = 0;
  for (const char* name : {"smollm", "gpt-2", "llama-bpe", "qwen2"}) {
    const PreTokenizer kind = *PreTokenizerFromName(name);
    ASSERT_EQ(fixture[name].size(), probes.size());
    for (size_t i = 0; i < probes.size(); ++i) {
      const std::string text = probes[i];
      const auto want = fixture[name][i].get<std::vector<std::string>>();
      if (Pieces(kind, text) == want) {
        ++matched;
      } else if (HasCodePointNewerThanUtf8proc(text)) {
        ++newer_unicode;
      } else {
        ADD_FAILURE() << name << " probe " << i << " \"" << text << "\": got "
                      << ::testing::PrintToString(Pieces(kind, text)) << ", want "
                      << ::testing::PrintToString(want);
      }
    }
  }
  std::cout << matched << " of " << 4 * probes.size() << " probes match; " << newer_unicode
            << " differ only by characters newer than utf8proc's Unicode\n";
  EXPECT_LE(newer_unicode, 4);
}

}  // namespace
}  // namespace llmw
