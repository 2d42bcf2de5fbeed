// Tests of StreamDecoder: whole characters only, U+FFFD for bytes that cannot form one.
#include "models/tokenizer/stream_decoder.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/tokenizer/bpe_tokenizer.h"
#include "tests/unit/tokenizer/toy_vocab.h"

namespace llmw {
namespace {

class StreamDecoderTest : public ::testing::Test {
 protected:
  StreamDecoderTest() : tok_(*BpeTokenizer::Create(tokenizer_test::ToyVocab())) {}
  // In the toy vocabulary, token b stands for byte b.
  static int32_t Byte(unsigned char b) { return b; }

  std::unique_ptr<BpeTokenizer> tok_;
};

TEST_F(StreamDecoderTest, HoldsAnEmojiUntilItsLastByte) {
  StreamDecoder d(*tok_);
  const std::string emoji = "\xF0\x9F\x99\x82";
  EXPECT_EQ(d.Push('a'), "a");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(d.Push(Byte(emoji[i])), "") << i;
    EXPECT_EQ(d.pending_bytes(), static_cast<size_t>(i + 1));
  }
  EXPECT_EQ(d.Push(Byte(emoji[3])), emoji);
  EXPECT_EQ(d.pending_bytes(), 0u);
  EXPECT_EQ(d.Flush(), "");
}

TEST_F(StreamDecoderTest, EveryPieceOfAnEncodedTextIsWholeCharacters) {
  const std::string text = "héllo 🙂 中文 👨‍👩‍👧 wörld";
  StreamDecoder d(*tok_);
  std::string joined;
  for (int32_t id : tok_->Encode(text, false, true)) {
    const std::string piece = d.Push(id);
    EXPECT_EQ(ToValidUtf8(piece), piece);
    joined += piece;
  }
  joined += d.Flush();
  EXPECT_EQ(joined, text);
}

TEST_F(StreamDecoderTest, InvalidBytesComeOutAsReplacementCharacters) {
  StreamDecoder d(*tok_);
  EXPECT_EQ(d.Push(0x80), "\uFFFD");  // can never start a character
  EXPECT_EQ(d.Push(0xF0), "");        // may start one
  EXPECT_EQ(d.Push(0x9F), "");
  EXPECT_EQ(d.Push('a'), "\uFFFDa");  // ... but did not: one U+FFFD for the truncated character
  EXPECT_EQ(d.Push(0xE2), "");
  EXPECT_EQ(d.Push(0x82), "");
  EXPECT_EQ(d.Flush(), "\uFFFD");  // unfinished at the end
  EXPECT_EQ(d.PushBytes("\xC0\x80\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD");
}

TEST_F(StreamDecoderTest, ControlTokensOnlyWhenAsked) {
  const int32_t im_end = *tok_->FindToken("<|im_end|>");
  StreamDecoder quiet(*tok_);
  EXPECT_EQ(quiet.Push(im_end), "");
  StreamDecoder loud(*tok_, /*render_special=*/true);
  EXPECT_EQ(loud.Push(im_end), "<|im_end|>");
}

TEST(ToValidUtf8Test, RepairsWholeStrings) {
  EXPECT_EQ(ToValidUtf8("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(ToValidUtf8("a\xC3"), "a\uFFFD");
  EXPECT_EQ(ToValidUtf8("\xFF\xFE"), "\uFFFD\uFFFD");
}

// Expected strings from Python's bytes.decode("utf-8", errors="replace"), which transformers'
// decoders also follow: one U+FFFD per maximal invalid subpart, so a sequence that ends inside a
// character yields exactly one.
TEST(ToValidUtf8Test, OneReplacementPerTruncatedCharacterAsPythonDecodes) {
  EXPECT_EQ(ToValidUtf8("\xE2\x82"), "\uFFFD");
  EXPECT_EQ(ToValidUtf8("\xF0\x9F\x98"), "\uFFFD");
  EXPECT_EQ(ToValidUtf8("\xE2\x82"
                        "a"),
            "\uFFFD"
            "a");
  EXPECT_EQ(ToValidUtf8("\xE2\x82\xE2\x82\xAC\xF4\x90\x80"), "\uFFFD\u20AC\uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(ToValidUtf8("\xC0\x80\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD");
}

}  // namespace
}  // namespace llmw
