// Special-token text in a prompt becomes the special tokens, as worker.proto says: chat-formatted
// prompts (each model's own template) and markers in odd places, tokenized with special-token
// parsing on, give exactly the ids of llama.cpp's tokenize(special=True) on each GGUF and of
// transformers on each Hugging Face directory (tests/fixtures/special_tokens, made by
// make_special_token_fixtures.py), with and without the added BOS.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/formats/gguf_file.h"
#include "models/tokenizer/gguf_tokenizer.h"
#include "models/tokenizer/hf_tokenizer.h"
#include "nlohmann/json.hpp"
#include "tests/test_models.h"

namespace llmw {
namespace {

namespace fs = std::filesystem;

fs::path Fixtures() {
  const char* source = std::getenv("LLMW_SOURCE_DIR");
  return fs::path(source != nullptr ? source : ".") / "tests/fixtures";
}

nlohmann::json Reference() {
  std::ifstream in(Fixtures() / "special_tokens/reference.json");
  return nlohmann::json::parse(in);
}

std::unique_ptr<Tokenizer> FromGguf(const std::string& path) {
  absl::StatusOr<std::unique_ptr<GgufFile>> file = GgufFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return nullptr;
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = TokenizerFromGguf(**file);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? std::move(*tokenizer) : nullptr;
}

void ExpectReferenceIds(const Tokenizer& tokenizer, const nlohmann::json& model,
                        const std::string& name) {
  ASSERT_GE(model["cases"].size(), 10u) << name;
  for (const nlohmann::json& c : model["cases"]) {
    const std::string text = c["text"];
    const bool add_special = c["add_special"];
    const std::vector<int32_t> expected = c["ids"];
    EXPECT_EQ(tokenizer.Encode(text, add_special, /*parse_special=*/true), expected)
        << name << ", add_special " << add_special << ": '" << text << "'";
  }
}

class SpecialTokensReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override { reference_ = Reference(); }
  nlohmann::json reference_;
};

TEST_F(SpecialTokensReferenceTest, SmolLm2MatchesLlamaCpp) {
  LLMW_TEST_MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf", "LLMW_SMOLLM2_GGUF");
  std::unique_ptr<Tokenizer> tokenizer = FromGguf(path);
  ASSERT_NE(tokenizer, nullptr);
  ExpectReferenceIds(*tokenizer, reference_["smollm2"], "smollm2");
}

TEST_F(SpecialTokensReferenceTest, Gemma3MatchesLlamaCpp) {
  LLMW_TEST_MODEL_OR_SKIP(path, "gemma-3-270m-q4_k_m.gguf", "LLMW_GEMMA3_GGUF");
  std::unique_ptr<Tokenizer> tokenizer = FromGguf(path);
  ASSERT_NE(tokenizer, nullptr);
  ExpectReferenceIds(*tokenizer, reference_["gemma3"], "gemma3");
}

TEST_F(SpecialTokensReferenceTest, TinyGgufsMatchLlamaCpp) {
  for (const std::string name : {"tiny-llama", "tiny-qwen2"}) {
    const nlohmann::json& model = reference_[name];
    std::unique_ptr<Tokenizer> tokenizer =
        FromGguf((Fixtures() / "hf_tiny" / model["gguf"].get<std::string>()).string());
    ASSERT_NE(tokenizer, nullptr) << name;
    ExpectReferenceIds(*tokenizer, model, name);
  }
}

TEST_F(SpecialTokensReferenceTest, TinyHfDirectoriesMatchTransformers) {
  for (const std::string name : {"tiny-llama-hf", "tiny-qwen2-hf"}) {
    const nlohmann::json& model = reference_[name];
    absl::StatusOr<HfTokenizerFiles> files =
        LoadHfTokenizer((Fixtures() / "hf_tiny" / model["hf_dir"].get<std::string>()).string());
    ASSERT_TRUE(files.ok()) << files.status();
    ExpectReferenceIds(*files->tokenizer, model, name);
  }
}

}  // namespace
}  // namespace llmw
