// GgufFile on the real SmolLM2-135M checkpoint, when it is on this machine.
#include <cstdlib>
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/formats/gguf_file.h"

namespace llmw {
namespace {

using ::testing::ElementsAre;

std::string ModelPath() {
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/root") +
         "/.cache/llm-worker/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

TEST(GgufRealModelTest, SmolLM2) {
  const std::string path = ModelPath();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no model at " << path;
  absl::StatusOr<std::unique_ptr<GgufFile>> opened = GgufFile::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status();
  const GgufFile& f = **opened;

  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(*f.GetString("general.architecture"), "llama");
  EXPECT_EQ(*f.GetUint("llama.embedding_length"), 576u);
  EXPECT_EQ(*f.GetUint("llama.block_count"), 30u);
  EXPECT_FLOAT_EQ(*f.GetFloat("llama.rope.freq_base"), 100000.0f);
  EXPECT_FLOAT_EQ(*f.GetFloat("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
  EXPECT_EQ(*f.GetString("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(*f.GetString("tokenizer.ggml.pre"), "smollm");
  EXPECT_EQ(*f.GetBool("tokenizer.ggml.add_bos_token"), false);
  EXPECT_EQ(*f.GetUint("tokenizer.ggml.eos_token_id"), 2u);

  absl::StatusOr<std::vector<std::string_view>> tokens = f.GetStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_EQ(tokens->size(), 49152u);
  EXPECT_EQ(tokens->front(), "<|endoftext|>");
  EXPECT_EQ(tokens->back(), "ectable");
  absl::StatusOr<std::vector<std::string_view>> merges = f.GetStringArray("tokenizer.ggml.merges");
  ASSERT_TRUE(merges.ok()) << merges.status();
  ASSERT_EQ(merges->size(), 48900u);
  EXPECT_EQ(merges->front(), "\xc4\xa0 t");
  EXPECT_EQ(f.GetIntArray("tokenizer.ggml.token_type")->size(), 49152u);

  ASSERT_EQ(f.tensors().size(), 272u);
  const GgufTensorInfo* embd = f.FindTensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->type, DType::kQ8_0);
  EXPECT_THAT(embd->dims, ElementsAre(576, 49152));
  EXPECT_EQ(f.data_offset() + embd->offset, 1785664u);
  const Tensor view = f.TensorView(*embd);
  EXPECT_EQ(view.DebugString(), "Q8_0[49152, 576]");
  EXPECT_EQ(view.bytes(), 30081024);
  EXPECT_EQ(view.row(0)[0], 0x32);  // first bytes: 32 19 d6 0d
  EXPECT_EQ(view.row(0)[3], 0x0d);

  const GgufTensorInfo* norm = f.FindTensor("blk.0.attn_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_FLOAT_EQ(f.TensorView(*norm).data_as<const float>()[0], 0.01397705f);
  EXPECT_EQ(f.FindTensor("blk.0.ffn_down.weight")->type, DType::kQ4_1);
}

}  // namespace
}  // namespace llmw
