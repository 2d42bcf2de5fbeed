// The SentencePiece tokenizer on a small hand-built vocabulary: score order, ties, byte fallback,
// unknown characters, the space prefix, special tokens, BOS/EOS and decoding.
#include "models/tokenizer/spm_tokenizer.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/tokenizer/stream_decoder.h"

namespace llmw {
namespace {

using ::testing::ElementsAre;

constexpr char kSp[] = "\xE2\x96\x81";  // U+2581

// 0 <unk>, 1 <s>, 2 </s>, 3 <end_of_turn>, 4 <br> (user-defined), 5 <unused> (unused), then
// 6..261 the byte tokens <0x00>..<0xFF> (with `bytes`), then the pieces below.
struct Toy {
  SpmVocab vocab;
  int32_t Id(const std::string& piece) const {
    for (size_t i = 0; i < vocab.tokens.size(); ++i) {
      if (vocab.tokens[i] == piece) return static_cast<int32_t>(i);
    }
    ADD_FAILURE() << "no piece " << piece;
    return -1;
  }
  int32_t Byte(int b) const { return 6 + b; }
};

Toy MakeToy(bool bytes = true, bool space_prefix = true) {
  Toy t;
  SpmVocab& v = t.vocab;
  auto add = [&](std::string piece, TokenType type, float score) {
    v.tokens.push_back(std::move(piece));
    v.types.push_back(type);
    v.scores.push_back(score);
  };
  add("<unk>", TokenType::kUnknown, 0);
  add("<s>", TokenType::kControl, 0);
  add("</s>", TokenType::kControl, 0);
  add("<end_of_turn>", TokenType::kControl, 0);
  add("<br>", TokenType::kUserDefined, 0);
  add("<unused>", TokenType::kUnused, 0);
  if (bytes) {
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      add(name, TokenType::kByte, 0);
    }
  }
  const std::string sp = kSp;
  const std::vector<std::pair<std::string, float>> pieces = {
      {sp, -1},       {"h", -10}, {"e", -10}, {"l", -10},    {"o", -10},         {"w", -10},
      {"r", -10},     {"d", -10}, {"a", -10}, {"x", -10},    {"y", -10},         {"z", -10},
      {"i", -10},     {"he", -3}, {"ll", -2}, {"hell", -4},  {"hello", -5},      {sp + "hello", -6},
      {sp + "w", -7}, {"or", -3}, {"ld", -3}, {"orld", -4},  {sp + "world", -5}, {"aa", -1},
      {"xy", -2},     {"yz", -1}, {"hi", -1}, {sp + sp, -1},
  };
  for (const auto& [piece, score] : pieces) add(piece, TokenType::kNormal, score);
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  v.add_bos = true;
  v.add_space_prefix = space_prefix;
  return t;
}

std::unique_ptr<SpmTokenizer> Make(SpmVocab v) {
  absl::StatusOr<std::unique_ptr<SpmTokenizer>> t = SpmTokenizer::Create(std::move(v));
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *std::move(t) : nullptr;
}

TEST(SpmTokenizerTest, MergesHighestScoreFirst) {
  const Toy toy = MakeToy(true, /*space_prefix=*/false);
  const auto tok = Make(toy.vocab);
  const std::string sp = kSp;
  EXPECT_THAT(tok->Encode("hello world", false, false),
              ElementsAre(toy.Id("hello"), toy.Id(sp + "world")));
  // "yz" (-1) beats "xy" (-2); no "xyz".
  EXPECT_THAT(tok->Encode("xyz", false, false), ElementsAre(toy.Id("x"), toy.Id("yz")));
  // Equal scores: the leftmost pair first.
  EXPECT_THAT(tok->Encode("aaa", false, false), ElementsAre(toy.Id("aa"), toy.Id("a")));
  EXPECT_THAT(tok->Encode("aaaa", false, false), ElementsAre(toy.Id("aa"), toy.Id("aa")));
  // Spaces become U+2581 and merge like any character.
  EXPECT_THAT(tok->Encode("  hi", false, false), ElementsAre(toy.Id(sp + sp), toy.Id("hi")));
}

TEST(SpmTokenizerTest, SpacePrefix) {
  const Toy toy = MakeToy(true, /*space_prefix=*/true);
  const auto tok = Make(toy.vocab);
  const std::string sp = kSp;
  EXPECT_TRUE(tok->add_space_prefix());
  EXPECT_THAT(tok->Encode("hello world", false, false),
              ElementsAre(toy.Id(sp + "hello"), toy.Id(sp + "world")));
  // Each run of text after a special token gets its own prefix.
  EXPECT_THAT(tok->Encode("hello<end_of_turn>hello", false, true),
              ElementsAre(toy.Id(sp + "hello"), 3, toy.Id(sp + "hello")));
  EXPECT_THAT(tok->Encode("", false, false), ElementsAre());
  // Decoding keeps the prefix space.
  EXPECT_EQ(tok->Decode(tok->Encode("hello world", false, false), false), " hello world");
}

TEST(SpmTokenizerTest, ByteFallback) {
  const Toy toy = MakeToy(true, false);
  const auto tok = Make(toy.vocab);
  // "€" (E2 82 AC) has no piece: its bytes.
  const std::vector<int32_t> ids = tok->Encode("h\xE2\x82\xAC", false, false);
  EXPECT_THAT(ids, ElementsAre(toy.Id("h"), toy.Byte(0xE2), toy.Byte(0x82), toy.Byte(0xAC)));
  EXPECT_EQ(tok->Decode(ids, false), "h\xE2\x82\xAC");
  EXPECT_EQ(tok->TokenText(toy.Byte(0x41)), "A");
  // Invalid UTF-8 comes back byte for byte.
  const std::string invalid =
      "a\xE2\x82"
      "b\xFF";
  EXPECT_EQ(tok->Decode(tok->Encode(invalid, false, false), false), invalid);

  StreamDecoder d(*tok);
  EXPECT_EQ(d.Push(toy.Byte(0xE2)), "");
  EXPECT_EQ(d.Push(toy.Byte(0x82)), "");
  EXPECT_EQ(d.Push(toy.Byte(0xAC)), "\xE2\x82\xAC");
}

TEST(SpmTokenizerTest, UnknownWithoutByteTokens) {
  const Toy toy = MakeToy(/*bytes=*/false, false);
  const auto tok = Make(toy.vocab);
  EXPECT_THAT(tok->Encode("h\xC3\xA9", false, false), ElementsAre(toy.Id("h"), 0, 0));
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{0}, false), "");
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{0}, true), "<unk>");
}

TEST(SpmTokenizerTest, SpecialTokens) {
  const Toy toy = MakeToy(true, false);
  const auto tok = Make(toy.vocab);
  EXPECT_THAT(tok->Encode("hi<end_of_turn>", false, true), ElementsAre(toy.Id("hi"), 3));
  // Without parse_special a control token is text; user-defined ones always match.
  const std::vector<int32_t> plain = tok->Encode("<end_of_turn>", false, false);
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(tok->Decode(plain, false), "<end_of_turn>");
  EXPECT_THAT(tok->Encode("hi<br>hi", false, false), ElementsAre(toy.Id("hi"), 4, toy.Id("hi")));
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{4, 3, 5}, false), "<br>");
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{4, 3, 5}, true), "<br><end_of_turn>");
  EXPECT_EQ(tok->FindToken("<end_of_turn>"), 3);
  EXPECT_EQ(tok->FindToken(std::string(kSp) + "world"), toy.Id(std::string(kSp) + "world"));
  EXPECT_EQ(tok->FindToken("nope"), std::nullopt);
  EXPECT_TRUE(tok->IsEndOfGeneration(2));
  EXPECT_TRUE(tok->IsEndOfGeneration(3));
  EXPECT_FALSE(tok->IsEndOfGeneration(1));
  EXPECT_FALSE(tok->IsEndOfGeneration(-1));
}

TEST(SpmTokenizerTest, BosAndEos) {
  Toy toy = MakeToy(true, false);
  toy.vocab.add_eos = true;
  const auto tok = Make(toy.vocab);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_THAT(tok->Encode("hi", true, false), ElementsAre(1, toy.Id("hi"), 2));
  EXPECT_THAT(tok->Encode("hi", false, false), ElementsAre(toy.Id("hi")));
  toy.vocab.add_bos = false;
  toy.vocab.add_eos = false;
  EXPECT_THAT(Make(toy.vocab)->Encode("hi", true, false), ElementsAre(toy.Id("hi")));
}

TEST(SpmTokenizerTest, RejectsBadVocabularies) {
  EXPECT_FALSE(SpmTokenizer::Create(SpmVocab{}).ok());
  Toy toy = MakeToy();
  toy.vocab.scores.pop_back();
  EXPECT_FALSE(SpmTokenizer::Create(toy.vocab).ok());
  toy = MakeToy();
  toy.vocab.types.pop_back();
  EXPECT_FALSE(SpmTokenizer::Create(toy.vocab).ok());
  toy = MakeToy();
  toy.vocab.eos_id = 100000;
  EXPECT_FALSE(SpmTokenizer::Create(toy.vocab).ok());
}

TEST(SpmTokenizerTest, LongInputIsFast) {
  const Toy toy = MakeToy(true, false);
  const auto tok = Make(toy.vocab);
  std::string text;
  while (text.size() < 100000) text += "hello world ";
  std::string run(100000, 'a');
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = tok->Encode(text, false, false);
  const std::vector<int32_t> as = tok->Encode(run, false, false);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(tok->Decode(ids, false), text);
  EXPECT_EQ(as.size(), 50000u);
  EXPECT_LT(seconds, 2.0);
}

}  // namespace
}  // namespace llmw
