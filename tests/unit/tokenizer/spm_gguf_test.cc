// TokenizerFromGguf for SentencePiece vocabularies (`tokenizer.ggml.model` = "llama") on small
// GGUF files: the reference's defaults for absent keys, and errors for bad metadata.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/tokenizer/gguf_tokenizer.h"
#include "tests/unit/formats/gguf_builder.h"

namespace llmw {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace g = gguf_test;

// 0 <unk>, 1 <s>, 2 </s>, 3 "▁hi", 4 "h", 5 "hi", 6 "▁", 7 <0x21> ("!").
std::string SpmGguf(std::vector<std::pair<std::string, g::Val>> extra, size_t n_scores = 8) {
  const std::vector<std::string> tokens = {"<unk>", "<s>", "</s>",         "\xE2\x96\x81hi",
                                           "h",     "hi",  "\xE2\x96\x81", "<0x21>"};
  const std::vector<int32_t> types = {2, 3, 3, 1, 1, 1, 1, 6};
  std::vector<g::Val> t, s, ty;
  for (const std::string& x : tokens) t.push_back(g::Str(x));
  for (size_t i = 0; i < n_scores; ++i) s.push_back(g::F32(-static_cast<float>(i)));
  for (int32_t x : types) ty.push_back(g::I32(x));
  g::GgufBuilder b;
  b.Add("general.architecture", g::Str("llama"));
  b.Add("tokenizer.ggml.model", g::Str("llama"));
  b.Add("tokenizer.ggml.tokens", g::Arr(GgufType::kString, t));
  b.Add("tokenizer.ggml.scores", g::Arr(GgufType::kFloat32, s));
  b.Add("tokenizer.ggml.token_type", g::Arr(GgufType::kInt32, ty));
  for (const auto& [key, val] : extra) b.Add(key, val);
  return b.Build();
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Load(const std::string& bytes) {
  g::TempFile file(bytes);
  absl::StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(file.path());
  if (!f.ok()) return f.status();
  return TokenizerFromGguf(**f);
}

TEST(SpmGgufTest, DefaultsAsTheReference) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> t = Load(SpmGguf({}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->vocab_size(), 8);
  EXPECT_EQ((*t)->bos_id(), 1);
  EXPECT_EQ((*t)->eos_id(), 2);
  // add_bos_token and add_space_prefix default to true.
  EXPECT_THAT((*t)->Encode("hi!", true, false), ElementsAre(1, 3, 7));
  EXPECT_EQ((*t)->Decode((*t)->Encode("hi!", true, false), false), " hi!");
  // A character without a piece or byte token is unknown.
  EXPECT_THAT((*t)->Encode("hi?", false, false), ElementsAre(3, 0));
  EXPECT_THAT((*t)->Encode("<unk>", false, true), ElementsAre(0));
}

TEST(SpmGgufTest, ReadsKeys) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> t =
      Load(SpmGguf({{"tokenizer.ggml.add_space_prefix", g::Bool(false)},
                    {"tokenizer.ggml.add_bos_token", g::Bool(false)},
                    {"tokenizer.ggml.add_eos_token", g::Bool(true)},
                    {"tokenizer.ggml.bos_token_id", g::U32(2)},
                    {"tokenizer.ggml.eos_token_id", g::U32(1)}}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->bos_id(), 2);
  EXPECT_EQ((*t)->eos_id(), 1);
  EXPECT_THAT((*t)->Encode("hi", true, false), ElementsAre(5, 1));
}

TEST(SpmGgufTest, ClearErrors) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> t = Load(SpmGguf({}, /*n_scores=*/7));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("tokenizer.ggml.scores has 7 entries for 8"));
  t = Load(SpmGguf({{"tokenizer.ggml.eos_token_id", g::U32(8)}}));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("tokenizer.ggml.eos_token_id = 8 is out of range"));
}

}  // namespace
}  // namespace llmw
