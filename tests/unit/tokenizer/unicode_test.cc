// Tests of the UTF-8 helpers, the code point classes and the GPT-2 byte map.
#include "models/tokenizer/unicode.h"

#include <string>

#include "gtest/gtest.h"
#include "models/tokenizer/byte_unicode.h"

namespace llmw {
namespace {

TEST(ByteUnicodeTest, MatchesGpt2Table) {
  EXPECT_EQ(ByteToUnicode(' '), U'\u0120');   // Ġ
  EXPECT_EQ(ByteToUnicode('\n'), U'\u010A');  // Ċ
  EXPECT_EQ(ByteToUnicode(0), U'\u0100');
  EXPECT_EQ(ByteToUnicode(0x7F), U'\u0121');
  EXPECT_EQ(ByteToUnicode(0xAD), U'\u0143');  // soft hyphen → Ń
  EXPECT_EQ(ByteToUnicode('A'), U'A');
  EXPECT_EQ(ByteToUnicode(0xE9), U'\u00E9');
}

TEST(ByteUnicodeTest, RoundTripsEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) {
    EXPECT_EQ(UnicodeToByte(ByteToUnicode(static_cast<uint8_t>(b))), b);
    all.push_back(static_cast<char>(b));
  }
  std::string mapped, back;
  AppendBytesAsUnicode(all, &mapped);
  AppendUnicodeAsBytes(mapped, &back);
  EXPECT_EQ(back, all);
  EXPECT_EQ(UnicodeToByte(U'\u00AD'), std::nullopt);
  EXPECT_EQ(UnicodeToByte(U'\u4E2D'), std::nullopt);
}

TEST(ByteUnicodeTest, UnmappedCodePointsPassThrough) {
  std::string out;
  AppendUnicodeAsBytes("\u0120x\u4E2D", &out);
  EXPECT_EQ(out, " x\u4E2D");
}

TEST(Utf8Test, CharLength) {
  EXPECT_EQ(Utf8CharLength("a"), 1);
  EXPECT_EQ(Utf8CharLength("\xC3\xA9"), 2);
  EXPECT_EQ(Utf8CharLength("\xE2\x82\xAC"), 3);
  EXPECT_EQ(Utf8CharLength("\xF0\x9F\x99\x82"), 4);
  EXPECT_EQ(Utf8CharLength("\xF0\x9F\x99"), -1);  // may still complete
  EXPECT_EQ(Utf8CharLength("\xE2"), -1);
  EXPECT_EQ(Utf8CharLength("\x80"), 0);
  EXPECT_EQ(Utf8CharLength("\xC0\x80"), 0);          // overlong
  EXPECT_EQ(Utf8CharLength("\xE0\x80\x80"), 0);      // overlong
  EXPECT_EQ(Utf8CharLength("\xED\xA0\x80"), 0);      // surrogate
  EXPECT_EQ(Utf8CharLength("\xF4\x90\x80\x80"), 0);  // above U+10FFFF
  EXPECT_EQ(Utf8CharLength("\xE2\x82x"), 0);
  EXPECT_EQ(Utf8CharLength("\xFF"), 0);
}

TEST(Utf8Test, LenientDecodeAcceptsWhatTheReferenceAccepts) {
  size_t len;
  EXPECT_EQ(DecodeUtf8Lenient("\xC0\x80", &len), 0u);
  EXPECT_EQ(len, 2u);
  EXPECT_EQ(DecodeUtf8Lenient("\xED\xA0\x80", &len), 0xD800u);
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(DecodeUtf8Lenient("\xF4\x90\x80\x80", &len), kInvalidCodePoint);
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(DecodeUtf8Lenient("\xE2\x82", &len), kInvalidCodePoint);
  EXPECT_EQ(len, 1u);
}

TEST(Utf8Test, CleanForEncoding) {
  std::string out = "untouched";
  EXPECT_FALSE(CleanUtf8ForEncoding("valid \u00E9\U0001F642", &out));
  EXPECT_EQ(out, "untouched");
  ASSERT_TRUE(
      CleanUtf8ForEncoding("a\xE2\x82"
                           "b",
                           &out));
  EXPECT_EQ(out, "a\uFFFD\uFFFDb");
  ASSERT_TRUE(
      CleanUtf8ForEncoding("a\xC0\x80"
                           "b",
                           &out));
  EXPECT_EQ(out, std::string("a\0b", 3));
  ASSERT_TRUE(CleanUtf8ForEncoding("\xED\xA0\x80", &out));
  EXPECT_EQ(out, "\xED\xA0\x80");
  ASSERT_TRUE(CleanUtf8ForEncoding("\xF8\x88\x80\x80\x80", &out));
  EXPECT_EQ(out, "\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD");
}

TEST(CodePointClassTest, Classes) {
  EXPECT_TRUE(IsLetter(U'a'));
  EXPECT_TRUE(IsLetter(U'\u00E9'));
  EXPECT_TRUE(IsLetter(U'\u4E2D'));
  EXPECT_TRUE(IsLetter(U'\u0915'));   // Devanagari KA
  EXPECT_FALSE(IsLetter(U'\u093F'));  // Devanagari vowel sign I (a mark)
  EXPECT_FALSE(IsLetter(U'\u0301'));  // combining acute
  EXPECT_FALSE(IsLetter(U'_'));
  EXPECT_TRUE(IsNumber(U'7'));
  EXPECT_TRUE(IsNumber(U'\u00B2'));  // superscript two (No)
  EXPECT_TRUE(IsNumber(U'\u0663'));  // Arabic-Indic three (Nd)
  EXPECT_TRUE(IsNumber(U'\u216B'));  // Roman numeral twelve (Nl)
  EXPECT_FALSE(IsNumber(U'a'));
  for (char32_t c : {U'\t', U'\n', U'\v', U'\f', U'\r', U' ', U'\u0085', U'\u00A0', U'\u1680',
                     U'\u2000', U'\u200A', U'\u2028', U'\u2029', U'\u202F', U'\u205F', U'\u3000'}) {
    EXPECT_TRUE(IsWhitespace(c)) << static_cast<uint32_t>(c);
  }
  for (char32_t c : {U'\x1C', U'\x1F', U'\u200B', U'\uFEFF', U'\u180E', U'a'}) {
    EXPECT_FALSE(IsWhitespace(c)) << static_cast<uint32_t>(c);
  }
}

}  // namespace
}  // namespace llmw
