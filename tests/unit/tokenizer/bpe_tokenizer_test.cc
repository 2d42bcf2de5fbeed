// Tests of BpeTokenizer on the toy vocabulary: merge order, special tokens, flags, decoding,
// end-of-generation ids and vocabulary checks.
#include "models/tokenizer/bpe_tokenizer.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/tokenizer/toy_vocab.h"

namespace llmw {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tokenizer_test::IdOf;
using tokenizer_test::Mapped;
using tokenizer_test::ToyVocab;

class BpeTokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override { tok_ = Make(ToyVocab()); }

  static std::unique_ptr<BpeTokenizer> Make(BpeVocab v) {
    absl::StatusOr<std::unique_ptr<BpeTokenizer>> t = BpeTokenizer::Create(std::move(v));
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *std::move(t) : nullptr;
  }
  // The id of the token for raw bytes `bytes`, or of special text `bytes`.
  int32_t Id(std::string_view bytes) const {
    const int32_t id = IdOf(vocab_, Mapped(bytes));
    return id >= 0 ? id : IdOf(vocab_, bytes);
  }
  std::vector<int32_t> Encode(std::string_view text, bool parse_special = true) const {
    return tok_->Encode(text, false, parse_special);
  }

  BpeVocab vocab_ = ToyVocab();
  std::unique_ptr<BpeTokenizer> tok_;
};

TEST_F(BpeTokenizerTest, MergesLowestRankFirst) {
  EXPECT_THAT(Encode("hello world"), ElementsAre(Id("hello"), Id(" world")));
  EXPECT_THAT(Encode("abc"), ElementsAre(Id("a"), Id("bc")));  // "b c" ranks before "a b"
  EXPECT_THAT(Encode("ab"), ElementsAre(Id("ab")));
  EXPECT_THAT(Encode("aaaaa"), ElementsAre(Id("aaaa"), Id("a")));  // ties: leftmost first
  EXPECT_THAT(Encode("hellx"), ElementsAre(Id("hell"), Id("x")));
  EXPECT_THAT(Encode(""), ElementsAre());
}

TEST_F(BpeTokenizerTest, Llama3UsesWholePiecesThatAreTokens) {
  BpeVocab v = ToyVocab();
  v.pre = PreTokenizer::kLlama3;
  EXPECT_THAT(Make(std::move(v))->Encode("abc", false, true), ElementsAre(Id("abc")));
}

TEST_F(BpeTokenizerTest, LongRunsAreNotQuadratic) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<int32_t> ids = Encode(std::string(100000, 'a'));
  EXPECT_EQ(ids.size(), 25000u);
  ids = Encode("x" + std::string(5001, ' ') + "y");
  // "x", 1250 runs of four spaces, " y" as bytes.
  EXPECT_EQ(ids.size(), 1u + 1250u + 2u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(BpeTokenizerTest, SpecialTokensInText) {
  const int32_t im_end = Id("<|im_end|>"), user = Id("<user>");
  EXPECT_THAT(Encode("hello<|im_end|>world"),
              ElementsAre(Id("hello"), im_end, Id("w"), Id("orld")));
  EXPECT_THAT(Encode("<|im_end|><|im_end|>"), ElementsAre(im_end, im_end));
  // Without parse_special, control tokens are text; user-defined ones still match.
  std::vector<int32_t> plain = Encode("<|im_end|><user>", /*parse_special=*/false);
  EXPECT_EQ(plain.back(), user);
  EXPECT_EQ(plain.size(), 10u + 1u);
  EXPECT_THAT(Encode("<unused>"), ::testing::Not(ElementsAre(Id("<unused>"))));
}

TEST_F(BpeTokenizerTest, LongerSpecialTokensWin) {
  // The reference takes special tokens longest first over the whole text, so "bcd" wins over
  // "ab" in "abcd" although "ab" starts earlier.
  BpeVocab v = ToyVocab();
  v.tokens.push_back("<ab>");
  v.tokens.push_back("b>x<c");
  v.types.push_back(TokenType::kControl);
  v.types.push_back(TokenType::kControl);
  auto t = Make(std::move(v));
  EXPECT_THAT(t->Encode("<ab>x<c", false, true),
              ElementsAre(Id("<"), Id("a"), static_cast<int32_t>(vocab_.tokens.size() + 1)));
}

TEST_F(BpeTokenizerTest, AddsBosAndEosAsTheFlagsSay) {
  const int32_t bos = *tok_->bos_id(), eos = *tok_->eos_id();
  EXPECT_THAT(tok_->Encode("ab", true, true), ElementsAre(Id("ab")));  // flags off
  BpeVocab v = ToyVocab();
  v.add_bos = true;
  v.add_eos = true;
  auto t = Make(std::move(v));
  EXPECT_THAT(t->Encode("ab", true, true), ElementsAre(bos, Id("ab"), eos));
  EXPECT_THAT(t->Encode("ab", false, true), ElementsAre(Id("ab")));
  EXPECT_THAT(t->Encode("", true, true), ElementsAre(bos, eos));
}

TEST_F(BpeTokenizerTest, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_THAT(Encode("a\x80"
                     "b"),
              ElementsAre(Id("a"), 0xEF, 0xBF, 0xBD, Id("b")));
}

TEST_F(BpeTokenizerTest, Decode) {
  const std::vector<int32_t> ids = {
      Id("<|im_start|>"), Id("hello"),      Id(" world"), Id("<user>"),
      Id("<unused>"),     Id("<|im_end|>"), -1,           1 << 30};
  EXPECT_EQ(tok_->Decode(ids, false), "hello world<user>");
  EXPECT_EQ(tok_->Decode(ids, true), "<|im_start|>hello world<user><|im_end|>");
  EXPECT_EQ(tok_->TokenText(Id(" world")), " world");
  EXPECT_EQ(tok_->TokenText(Id("<|im_end|>")), "<|im_end|>");
  EXPECT_EQ(tok_->TokenText(' '), " ");
  EXPECT_EQ(tok_->TokenText(-3), "");
  const std::string text = "héllo, wörld \xF0\x9F\x99\x82 <|im_end|>\n\t";
  EXPECT_EQ(tok_->Decode(Encode(text), true), text);
}

TEST_F(BpeTokenizerTest, LookupsAndEndOfGeneration) {
  EXPECT_EQ(tok_->vocab_size(), static_cast<int32_t>(vocab_.tokens.size()));
  EXPECT_EQ(tok_->FindToken("<|im_end|>"), Id("<|im_end|>"));
  EXPECT_EQ(tok_->FindToken(Mapped(" world")), Id(" world"));
  EXPECT_EQ(tok_->FindToken("nope"), std::nullopt);
  EXPECT_TRUE(tok_->IsEndOfGeneration(*tok_->eos_id()));
  EXPECT_TRUE(tok_->IsEndOfGeneration(Id("<|im_end|>")));  // by its text
  EXPECT_FALSE(tok_->IsEndOfGeneration(Id("<|im_start|>")));
  EXPECT_FALSE(tok_->IsEndOfGeneration(Id("hello")));
  EXPECT_FALSE(tok_->IsEndOfGeneration(-1));
  BpeVocab v = ToyVocab();
  v.eot_id = Id("hello");
  v.types[IdOf(v, "<|im_end|>")] = TokenType::kNormal;
  auto t = Make(std::move(v));
  EXPECT_TRUE(t->IsEndOfGeneration(Id("hello")));
  EXPECT_FALSE(t->IsEndOfGeneration(Id("<|im_end|>")));  // not a control token here
}

TEST_F(BpeTokenizerTest, ConcurrentEncodesAgree) {
  const std::string text = "hello world aaaa hello bc ab " + std::string(300, 'a');
  const std::vector<int32_t> want = Encode(text);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 200; ++j) EXPECT_EQ(Encode(text), want);
    });
  }
  for (std::thread& th : threads) th.join();
}

absl::Status CreateError(BpeVocab v) { return BpeTokenizer::Create(std::move(v)).status(); }

TEST(BpeTokenizerErrorsTest, RejectsBadVocabularies) {
  EXPECT_THAT(CreateError(BpeVocab{}).message(), HasSubstr("vocabulary size 0"));
  BpeVocab v = ToyVocab();
  v.types.pop_back();
  EXPECT_THAT(CreateError(v).message(), HasSubstr("token types for"));
  v = ToyVocab();
  v.bos_id = 1 << 20;
  EXPECT_THAT(CreateError(v).message(), HasSubstr("BOS token id 1048576 is out of range"));
  v = ToyVocab();
  v.merges.push_back("nospace");
  EXPECT_THAT(CreateError(v).message(), HasSubstr("'nospace' is not two tokens"));
  v = ToyVocab();
  v.merges.push_back("h zzz");
  EXPECT_THAT(CreateError(v).message(), HasSubstr("token 'zzz' is not in the vocabulary"));
  v = ToyVocab();
  v.merges.push_back("x y");
  EXPECT_THAT(CreateError(v).message(), HasSubstr("token 'xy' is not in the vocabulary"));
  EXPECT_EQ(CreateError(v).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llmw
