// A Hugging Face directory with a broken or unsupported config.json, or a
// missing tensor, is refused with a message naming the file and the key.
// Each case copies a tiny fixture (tests/fixtures/hf_tiny/) and changes one thing.
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/cpu/cpu_backend.h"
#include "models/registry.h"
#include "nlohmann/json.hpp"

namespace llmw {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class HfCheckpointErrorsTest : public testing::Test {
 protected:
  // A copy of fixture `family` in a fresh temporary directory.
  std::string Copy(const std::string& family) {
    const char* source = std::getenv("LLMW_SOURCE_DIR");
    const fs::path from = fs::path(source ? source : ".") / "tests/fixtures/hf_tiny" / family;
    dir_ = fs::temp_directory_path() / ("llmw-hf-" + family + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::copy(from, dir_, fs::copy_options::recursive);
    return dir_.string();
  }

  // Applies `edit` to the copy's config.json.
  template <typename Edit>
  void EditConfig(Edit edit) {
    std::ifstream in(dir_ / "config.json");
    nlohmann::json config = nlohmann::json::parse(in);
    edit(config);
    std::ofstream(dir_ / "config.json") << config.dump();
  }

  absl::Status Load() { return LoadModel(dir_.string(), backend_).status(); }

  void TearDown() override { fs::remove_all(dir_); }

  cpu::CpuBackend backend_{{.threads = 1}};
  fs::path dir_;
};

TEST_F(HfCheckpointErrorsTest, LoadsUnchangedCopy) {
  Copy("mistral");
  EXPECT_TRUE(Load().ok()) << Load();
}

TEST_F(HfCheckpointErrorsTest, MissingKeyNamesIt) {
  Copy("mistral");
  EditConfig([](nlohmann::json& c) { c.erase("hidden_size"); });
  EXPECT_THAT(Load().message(), HasSubstr("config.json: missing 'hidden_size'"));
}

TEST_F(HfCheckpointErrorsTest, WrongTypeNamesKeyAndValue) {
  Copy("qwen2");
  EditConfig([](nlohmann::json& c) { c["num_attention_heads"] = "four"; });
  EXPECT_THAT(Load().message(),
              HasSubstr("'num_attention_heads' must be an integer, got \"four\""));
}

TEST_F(HfCheckpointErrorsTest, InconsistentHeadsAreRefused) {
  Copy("qwen2");
  EditConfig([](nlohmann::json& c) { c["num_key_value_heads"] = 3; });
  EXPECT_THAT(Load().message(),
              HasSubstr("inconsistent hyper-parameters (layers 2, hidden 64, MLP 128, vocabulary"));
}

TEST_F(HfCheckpointErrorsTest, UnsupportedRopeScalingIsUnimplemented) {
  Copy("phi3");
  EditConfig([](nlohmann::json& c) {
    c["rope_parameters"] = {{"rope_type", "longrope"}, {"rope_theta", 10000.0}};
  });
  const absl::Status status = Load();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("RoPE scaling type 'longrope' is not supported"));
}

TEST_F(HfCheckpointErrorsTest, LayerTypesMustCoverEveryLayer) {
  Copy("gemma3");
  EditConfig([](nlohmann::json& c) { c["layer_types"] = {"full_attention"}; });
  EXPECT_THAT(Load().message(), HasSubstr("layer_types lists 1 layers, expected 6"));
}

TEST_F(HfCheckpointErrorsTest, SoftcappingIsUnimplemented) {
  Copy("gemma3");
  EditConfig([](nlohmann::json& c) { c["final_logit_softcapping"] = 30.0; });
  EXPECT_EQ(Load().code(), absl::StatusCode::kUnimplemented);
}

TEST_F(HfCheckpointErrorsTest, WrongShapeNamesTensor) {
  Copy("phi2");
  EditConfig([](nlohmann::json& c) { c["intermediate_size"] = 128; });
  EXPECT_THAT(Load().message(), HasSubstr("tensor 'model.layers.0.mlp.fc1.weight' has shape"));
}

TEST_F(HfCheckpointErrorsTest, MissingShardIsNamed) {
  Copy("qwen2");
  fs::remove(dir_ / "model-00002-of-00004.safetensors");
  EXPECT_THAT(Load().message(), HasSubstr("model-00002-of-00004.safetensors"));
}

TEST_F(HfCheckpointErrorsTest, TokenizerLargerThanEmbeddingIsRefused) {
  Copy("llama");
  EditConfig([](nlohmann::json& c) { c["vocab_size"] = 100; });
  EXPECT_FALSE(Load().ok());
}

TEST_F(HfCheckpointErrorsTest, GenerationConfigGivesSamplingDefaults) {
  Copy("qwen2");
  std::ofstream(dir_ / "generation_config.json")
      << R"({"do_sample": true, "temperature": 0.7, "top_p": 0.8, "top_k": 20,
             "repetition_penalty": 1.05, "eos_token_id": [0]})";
  auto model = LoadModel(dir_.string(), backend_);
  ASSERT_TRUE(model.ok()) << model.status();
  const GenerationDefaults& d = (*model)->info().generation_defaults;
  EXPECT_FLOAT_EQ(d.temperature.value_or(-1), 0.7f);
  EXPECT_FLOAT_EQ(d.top_p.value_or(-1), 0.8f);
  EXPECT_EQ(d.top_k.value_or(-1), 20);
  EXPECT_FLOAT_EQ(d.repetition_penalty.value_or(-1), 1.05f);
  EXPECT_FALSE(d.min_p.has_value());

  std::ofstream(dir_ / "generation_config.json") << R"({"do_sample": false, "top_k": 5})";
  model = LoadModel(dir_.string(), backend_);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->info().generation_defaults.temperature, 0.0f);  // greedy

  std::ofstream(dir_ / "generation_config.json") << R"({"temperature": "hot"})";
  EXPECT_THAT(Load().message(), HasSubstr("'temperature' must be a number"));
}

TEST_F(HfCheckpointErrorsTest, BrokenConfigJson) {
  Copy("llama");
  std::ofstream(dir_ / "config.json") << "{ not json";
  EXPECT_THAT(Load().message(), HasSubstr("config.json: not valid JSON"));
}

}  // namespace
}  // namespace llmw
