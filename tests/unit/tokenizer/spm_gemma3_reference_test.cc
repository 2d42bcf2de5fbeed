// The SentencePiece tokenizer on the real Gemma 3 vocabulary against llama.cpp's ids
// (tests/fixtures/tokenizer/gemma3_ids.json, made by make_spm_fixtures.py), with and without the
// space prefix, and Decode(Encode(s)) == s over the corpus.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/tokenizer/gguf_tokenizer.h"
#include "models/tokenizer/spm_tokenizer.h"
#include "models/tokenizer/stream_decoder.h"
#include "tests/test_models.h"
#include "tests/unit/tokenizer/fixtures.h"

namespace llmw {
namespace {

using tokenizer_test::FromHex;
using tokenizer_test::ReadFixture;

constexpr char kModel[] = "gemma-3-270m-q4_k_m.gguf";
constexpr char kModelEnv[] = "LLMW_GEMMA3_GGUF";

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

class Gemma3ReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LLMW_TEST_MODEL_OR_SKIP(path, kModel, kModelEnv);
    absl::StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status();
    file_ = *std::move(f);
    absl::StatusOr<SpmVocab> vocab = SpmVocabFromGguf(*file_);
    ASSERT_TRUE(vocab.ok()) << vocab.status();
    vocab_ = *std::move(vocab);
    corpus_ = Corpus();
  }

  std::unique_ptr<SpmTokenizer> Make(bool add_space_prefix) {
    SpmVocab v = vocab_;
    v.add_space_prefix = add_space_prefix;
    absl::StatusOr<std::unique_ptr<SpmTokenizer>> t = SpmTokenizer::Create(std::move(v));
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *std::move(t) : nullptr;
  }

  std::unique_ptr<GgufFile> file_;
  SpmVocab vocab_;
  std::vector<std::string> corpus_;
};

TEST_F(Gemma3ReferenceTest, LoadsFromGguf) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> t = TokenizerFromGguf(*file_);
  ASSERT_TRUE(t.ok()) << t.status();
  const Tokenizer& tok = **t;
  EXPECT_EQ(tok.vocab_size(), 262144);
  EXPECT_EQ(tok.bos_id(), 2);
  EXPECT_EQ(tok.eos_id(), 1);
  EXPECT_FALSE(vocab_.add_space_prefix);
  EXPECT_TRUE(vocab_.add_bos);
  EXPECT_EQ(tok.FindToken("<start_of_turn>"), 105);
  EXPECT_EQ(tok.TokenText(106), "<end_of_turn>");
  EXPECT_TRUE(tok.IsEndOfGeneration(1));
  EXPECT_TRUE(tok.IsEndOfGeneration(106));
  EXPECT_FALSE(tok.IsEndOfGeneration(2));
  EXPECT_FALSE(tok.IsEndOfGeneration(105));
  const std::vector<int32_t> ids =
      tok.Encode("<start_of_turn>user\nHi there<end_of_turn>\n", true, true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 2);
  EXPECT_EQ(ids[1], 105);
  EXPECT_EQ(tok.Decode(ids, false), "user\nHi there\n");
}

TEST_F(Gemma3ReferenceTest, MatchesReferenceIds) {
  const nlohmann::json expected = ReadFixture("gemma3_ids.json");
  int checked = 0, mismatched = 0;
  for (const auto& [name, variant] : expected["variants"].items()) {
    const std::unique_ptr<SpmTokenizer> tok = Make(variant["add_space_prefix"].get<bool>());
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
  EXPECT_GE(checked, 5 * 100);
}

TEST_F(Gemma3ReferenceTest, RoundTrips) {
  // Byte fallback keeps even invalid UTF-8 as it was. (With the space prefix there is no such
  // identity on this vocabulary: every user-defined token, "\n" included, starts a new prefixed
  // run, as in the reference.)
  const std::unique_ptr<SpmTokenizer> tok = Make(false);
  for (const std::string& text : corpus_) {
    EXPECT_EQ(tok->Decode(tok->Encode(text, true, true), true), "<bos>" + text);
    EXPECT_EQ(tok->Decode(tok->Encode(text, false, false), false), text);
  }
}

TEST_F(Gemma3ReferenceTest, LongInputIsFast) {
  const std::unique_ptr<SpmTokenizer> tok = Make(false);
  std::string text;
  for (size_t i = 0; text.size() < 100000; ++i) text += corpus_[i % corpus_.size()];
  const std::string letters(100000, 'q');
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = tok->Encode(text, false, true);
  const std::vector<int32_t> qs = tok->Encode(letters, false, true);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(tok->Decode(ids, true), text);
  EXPECT_EQ(tok->Decode(qs, true), letters);
  EXPECT_LT(seconds, 5.0);
}

TEST_F(Gemma3ReferenceTest, StreamsWholeCharacters) {
  const std::unique_ptr<SpmTokenizer> tok = Make(false);
  for (const std::string& text : corpus_) {
    StreamDecoder d(*tok, /*render_special=*/true);
    std::string joined;
    for (int32_t id : tok->Encode(text, false, true)) {
      const std::string piece = d.Push(id);
      EXPECT_EQ(ToValidUtf8(piece), piece);
      joined += piece;
    }
    joined += d.Flush();
    EXPECT_EQ(joined, ToValidUtf8(text));
  }
}

}  // namespace
}  // namespace llmw
