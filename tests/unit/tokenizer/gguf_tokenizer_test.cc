// Tests of TokenizerFromGguf on small GGUF files: the happy path and each kind of bad metadata.
#include "models/tokenizer/gguf_tokenizer.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/formats/gguf_builder.h"
#include "tests/unit/tokenizer/toy_vocab.h"

namespace llmw {
namespace {

using ::testing::HasSubstr;
namespace g = gguf_test;

// The toy vocabulary's metadata; `change` edits or drops (empty type bytes) entries.
std::string ToyGguf(const std::vector<std::pair<std::string, g::Val>>& change = {}) {
  const BpeVocab v = tokenizer_test::ToyVocab();
  std::vector<g::Val> tokens, merges, types;
  for (const std::string& t : v.tokens) tokens.push_back(g::Str(t));
  for (const std::string& m : v.merges) merges.push_back(g::Str(m));
  for (TokenType t : v.types) types.push_back(g::I32(static_cast<int32_t>(t)));
  std::vector<std::pair<std::string, g::Val>> kvs = {
      {"general.architecture", g::Str("llama")},
      {"tokenizer.ggml.model", g::Str("gpt2")},
      {"tokenizer.ggml.pre", g::Str("smollm")},
      {"tokenizer.ggml.tokens", g::Arr(GgufType::kString, tokens)},
      {"tokenizer.ggml.token_type", g::Arr(GgufType::kInt32, types)},
      {"tokenizer.ggml.merges", g::Arr(GgufType::kString, merges)},
      {"tokenizer.ggml.bos_token_id", g::U32(*v.bos_id)},
      {"tokenizer.ggml.eos_token_id", g::U32(*v.eos_id)},
      {"tokenizer.ggml.add_bos_token", g::Bool(true)},
  };
  for (const auto& [key, val] : change) {
    auto it =
        std::find_if(kvs.begin(), kvs.end(), [&k = key](const auto& kv) { return kv.first == k; });
    if (it == kvs.end()) {
      kvs.emplace_back(key, val);
    } else if (val.bytes.empty()) {
      kvs.erase(it);
    } else {
      it->second = val;
    }
  }
  g::GgufBuilder b;
  for (const auto& [key, val] : kvs) b.Add(key, val);
  return b.Build();
}

const g::Val kDrop{GgufType::kString, ""};

absl::StatusOr<std::unique_ptr<Tokenizer>> Load(const std::string& bytes) {
  g::TempFile file(bytes);
  absl::StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(file.path());
  if (!f.ok()) return f.status();
  return TokenizerFromGguf(**f);
}

TEST(GgufTokenizerTest, LoadsTheToyVocabulary) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> t = Load(ToyGguf());
  ASSERT_TRUE(t.ok()) << t.status();
  const BpeVocab v = tokenizer_test::ToyVocab();
  EXPECT_EQ((*t)->vocab_size(), static_cast<int32_t>(v.tokens.size()));
  EXPECT_EQ((*t)->bos_id(), v.bos_id);
  EXPECT_EQ((*t)->eos_id(), v.eos_id);
  const std::vector<int32_t> ids = (*t)->Encode("hello 42<|im_end|>", true, true);
  EXPECT_THAT(ids, ::testing::ElementsAre(*v.bos_id, tokenizer_test::IdOf(v, "hello"),
                                          tokenizer_test::IdOf(v, "\u0120"), '4', '2',
                                          tokenizer_test::IdOf(v, "<|im_end|>")));
  EXPECT_EQ((*t)->Decode(ids, true), "<|im_start|>hello 42<|im_end|>");
}

TEST(GgufTokenizerTest, OptionalKeys) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> t =
      Load(ToyGguf({{"tokenizer.ggml.token_type", kDrop},
                    {"tokenizer.ggml.bos_token_id", kDrop},
                    {"tokenizer.ggml.add_bos_token", kDrop}}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->bos_id(), std::nullopt);
  // Without types, "<|im_end|>" is plain text.
  EXPECT_GT((*t)->Encode("<|im_end|>", true, true).size(), 1u);
}

struct BadCase {
  std::string name;
  std::vector<std::pair<std::string, g::Val>> change;
  absl::StatusCode code;
  std::string message;
};

TEST(GgufTokenizerTest, ClearErrors) {
  const std::vector<BadCase> cases = {
      {"no model",
       {{"tokenizer.ggml.model", kDrop}},
       absl::StatusCode::kNotFound,
       "tokenizer.ggml.model"},
      {"wordpiece",
       {{"tokenizer.ggml.model", g::Str("bert")}},
       absl::StatusCode::kUnimplemented,
       "'bert' is not supported yet"},
      {"unknown model",
       {{"tokenizer.ggml.model", g::Str("wordpiece9")}},
       absl::StatusCode::kInvalidArgument,
       "unknown tokenizer model 'wordpiece9'"},
      {"no pre",
       {{"tokenizer.ggml.pre", kDrop}},
       absl::StatusCode::kNotFound,
       "tokenizer.ggml.pre"},
      {"unknown pre",
       {{"tokenizer.ggml.pre", g::Str("falcon")}},
       absl::StatusCode::kInvalidArgument,
       "'falcon'; supported: gpt-2"},
      {"no tokens",
       {{"tokenizer.ggml.tokens", kDrop}},
       absl::StatusCode::kNotFound,
       "tokenizer.ggml.tokens"},
      {"tokens not strings",
       {{"tokenizer.ggml.tokens", g::Arr(GgufType::kInt32, {g::I32(1)})}},
       absl::StatusCode::kInvalidArgument,
       "tokenizer.ggml.tokens"},
      {"no merges",
       {{"tokenizer.ggml.merges", kDrop}},
       absl::StatusCode::kNotFound,
       "tokenizer.ggml.merges"},
      {"bad merge",
       {{"tokenizer.ggml.merges", g::Arr(GgufType::kString, {g::Str("q \u4E2D")})}},
       absl::StatusCode::kInvalidArgument,
       "merge 0 'q \u4E2D': token '\u4E2D' is not in"},
      {"types too short",
       {{"tokenizer.ggml.token_type", g::Arr(GgufType::kInt32, {g::I32(1)})}},
       absl::StatusCode::kInvalidArgument,
       "token_type has 1 entries for"},
      {"bos out of range",
       {{"tokenizer.ggml.bos_token_id", g::U32(999999)}},
       absl::StatusCode::kInvalidArgument,
       "bos_token_id = 999999 is out of range"},
      {"eos wrong type",
       {{"tokenizer.ggml.eos_token_id", g::Str("2")}},
       absl::StatusCode::kInvalidArgument,
       "tokenizer.ggml.eos_token_id"},
      {"add_bos wrong type",
       {{"tokenizer.ggml.add_bos_token", g::U32(1)}},
       absl::StatusCode::kInvalidArgument,
       "tokenizer.ggml.add_bos_token"},
  };
  for (const BadCase& c : cases) {
    absl::StatusOr<std::unique_ptr<Tokenizer>> t = Load(ToyGguf(c.change));
    ASSERT_FALSE(t.ok()) << c.name;
    EXPECT_EQ(t.status().code(), c.code) << c.name << ": " << t.status();
    EXPECT_THAT(t.status().message(), HasSubstr(c.message)) << c.name;
  }
}

TEST(GgufTokenizerTest, BadTokenTypeValue) {
  std::vector<g::Val> types(tokenizer_test::ToyVocab().tokens.size(), g::I32(1));
  types[5] = g::I32(9);
  absl::StatusOr<std::unique_ptr<Tokenizer>> t =
      Load(ToyGguf({{"tokenizer.ggml.token_type", g::Arr(GgufType::kInt32, types)}}));
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("token_type[5] = 9 is not a token type"));
}

}  // namespace
}  // namespace llmw
