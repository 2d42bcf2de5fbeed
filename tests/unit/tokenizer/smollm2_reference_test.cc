// The BPE tokenizer on the real SmolLM2 vocabulary against llama.cpp's ids
// (tests/fixtures/tokenizer, made by make_tokenizer_fixtures.py), under each pre-tokenizer, and
// Decode(Encode(s)) == s over the corpus.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/tokenizer/gguf_tokenizer.h"
#include "models/tokenizer/stream_decoder.h"
#include "models/tokenizer/unicode.h"
#include "tests/test_models.h"
#include "tests/unit/tokenizer/fixtures.h"

namespace llmw {
namespace {

using tokenizer_test::FromHex;
using tokenizer_test::ReadFixture;

constexpr char kModel[] = "SmolLM2-135M-Instruct.Q4_1.gguf";
constexpr char kModelEnv[] = "LLMW_SMOLLM2_GGUF";

// Corpus entries as bytes.
std::vector<std::string> Corpus() {
  std::vector<std::string> out;
  for (const nlohmann::json& e : ReadFixture("corpus.json")) {
    out.push_back(e.contains("hex") ? FromHex(e["hex"]) : e["text"].get<std::string>());
  }
  return out;
}

std::string Show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += std::to_string(id) + " ";
  return s;
}

class SmolLm2ReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LLMW_TEST_MODEL_OR_SKIP(path, kModel, kModelEnv);
    absl::StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status();
    file_ = *std::move(f);
    absl::StatusOr<BpeVocab> vocab = BpeVocabFromGguf(*file_);
    ASSERT_TRUE(vocab.ok()) << vocab.status();
    vocab_ = *std::move(vocab);
    corpus_ = Corpus();
  }

  std::unique_ptr<BpeTokenizer> Make(PreTokenizer pre, bool add_bos_token) {
    BpeVocab v = vocab_;
    v.pre = pre;
    v.add_bos = add_bos_token;
    absl::StatusOr<std::unique_ptr<BpeTokenizer>> t = BpeTokenizer::Create(std::move(v));
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *std::move(t) : nullptr;
  }

  std::unique_ptr<GgufFile> file_;
  BpeVocab vocab_;
  std::vector<std::string> corpus_;
};

TEST_F(SmolLm2ReferenceTest, LoadsFromGguf) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> t = TokenizerFromGguf(*file_);
  ASSERT_TRUE(t.ok()) << t.status();
  const Tokenizer& tok = **t;
  EXPECT_EQ(tok.vocab_size(), 49152);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.FindToken("<|im_start|>"), 1);
  EXPECT_EQ(tok.TokenText(2), "<|im_end|>");
  EXPECT_TRUE(tok.IsEndOfGeneration(2));
  EXPECT_TRUE(tok.IsEndOfGeneration(0));  // <|endoftext|>
  EXPECT_FALSE(tok.IsEndOfGeneration(1));
  EXPECT_EQ(tok.Decode(tok.Encode("<|im_start|>hi<|im_end|>", true, true), false), "hi");
}

TEST_F(SmolLm2ReferenceTest, MatchesReferenceIds) {
  const nlohmann::json expected = ReadFixture("smollm2_ids.json");
  int checked = 0, mismatched = 0;
  for (const auto& [name, variant] : expected["variants"].items()) {
    const PreTokenizer pre = *PreTokenizerFromName(variant["pre"].get<std::string>());
    const std::unique_ptr<BpeTokenizer> tok = Make(pre, variant["add_bos_token"].get<bool>());
    ASSERT_NE(tok, nullptr);
    for (const nlohmann::json& run : variant["runs"]) {
      const bool add_bos = run["add_bos"], parse_special = run["parse_special"];
      const nlohmann::json& ids = run["ids"];
      ASSERT_EQ(ids.size(), corpus_.size()) << "fixture and corpus disagree; rerun the script";
      for (size_t i = 0; i < corpus_.size(); ++i) {
        const std::vector<int32_t> want = ids[i].get<std::vector<int32_t>>();
        const std::vector<int32_t> got = tok->Encode(corpus_[i], add_bos, parse_special);
        ++checked;
        if (got != want && ++mismatched <= 10) {
          ADD_FAILURE() << name << " add_bos=" << add_bos << " parse_special=" << parse_special
                        << " corpus[" << i << "] \"" << corpus_[i].substr(0, 80) << "\"\n  want "
                        << Show(want).substr(0, 400) << "\n  got  " << Show(got).substr(0, 400);
        }
      }
    }
  }
  EXPECT_EQ(mismatched, 0) << "of " << checked;
  EXPECT_GE(checked, 6 * 80);
}

TEST_F(SmolLm2ReferenceTest, RoundTrips) {
  for (PreTokenizer pre : {PreTokenizer::kSmolLm, PreTokenizer::kLlama3}) {
    const std::unique_ptr<BpeTokenizer> tok = Make(pre, false);
    for (const std::string& text : corpus_) {
      std::string want = text;
      CleanUtf8ForEncoding(text, &want);  // invalid bytes come back as U+FFFD
      EXPECT_EQ(tok->Decode(tok->Encode(text, false, true), true), want);
      EXPECT_EQ(tok->Decode(tok->Encode(text, false, false), false), want);
    }
  }
}

TEST_F(SmolLm2ReferenceTest, StreamsWholeCharacters) {
  const std::unique_ptr<BpeTokenizer> tok = Make(PreTokenizer::kSmolLm, false);
  for (const std::string& text : corpus_) {
    StreamDecoder d(*tok, /*render_special=*/true);
    std::string joined;
    for (int32_t id : tok->Encode(text, false, true)) {
      const std::string piece = d.Push(id);
      EXPECT_EQ(ToValidUtf8(piece), piece);
      joined += piece;
    }
    joined += d.Flush();
    std::string cleaned = text;
    CleanUtf8ForEncoding(text, &cleaned);
    EXPECT_EQ(joined, ToValidUtf8(cleaned));
  }
}

}  // namespace
}  // namespace llmw
