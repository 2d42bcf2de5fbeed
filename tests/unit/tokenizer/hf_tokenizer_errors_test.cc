// Errors of the tokenizer.json loader: each names the file and the field, with the status code
// that tells a malformed file (INVALID_ARGUMENT) from an unsupported feature (UNIMPLEMENTED).
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/tokenizer/hf_tokenizer.h"
#include "tests/unit/tokenizer/hf_fixtures.h"

namespace llmw {
namespace {

using ::testing::HasSubstr;
using tokenizer_test::HfFixturePath;
using tokenizer_test::ReadHfFixture;
using tokenizer_test::ReadText;
using Json = nlohmann::json;

// A model directory under the test's temporary directory, starting as a copy of a fixture.
class HfErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    for (const char* file : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
      Write(file, ReadText(HfFixturePath(std::string("llama3/") + file)));
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& file, const std::string& text) {
    std::ofstream(dir_ / file, std::ios::binary) << text;
  }
  // Rewrites tokenizer.json (or another file) through `edit`.
  template <typename Fn>
  void Edit(const std::string& file, Fn edit) {
    Json doc = Json::parse(ReadText((dir_ / file).string()));
    edit(doc);
    Write(file, doc.dump());
  }
  absl::Status Load() { return LoadHfTokenizer(dir_.string()).status(); }

  std::filesystem::path dir_;
};

TEST_F(HfErrorsTest, LoadsTheUnchangedCopy) { EXPECT_TRUE(Load().ok()) << Load(); }

TEST_F(HfErrorsTest, MissingTokenizerJson) {
  std::filesystem::remove(dir_ / "tokenizer.json");
  EXPECT_EQ(Load().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Load().message(), HasSubstr("tokenizer.json: no such file"));
}

TEST_F(HfErrorsTest, OptionalFilesMayBeMissing) {
  std::filesystem::remove(dir_ / "tokenizer_config.json");
  std::filesystem::remove(dir_ / "generation_config.json");
  Write("chat_template.jinja", "{{ messages }}");
  absl::StatusOr<HfTokenizerFiles> files = LoadHfTokenizer(dir_.string());
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->chat_template, "{{ messages }}");
  EXPECT_EQ(files->tokenizer->bos_id(), files->tokenizer->FindToken("<|begin_of_text|>"));
  EXPECT_EQ(files->tokenizer->eos_id(), std::nullopt);
}

TEST_F(HfErrorsTest, MalformedJson) {
  Write("tokenizer.json", "{\"model\": {\"type\": \"BPE\",");
  EXPECT_EQ(Load().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Load().message(), HasSubstr("tokenizer.json: not valid JSON: "));
  Write("tokenizer.json", "[1, 2]");
  EXPECT_THAT(Load().message(), HasSubstr("tokenizer.json: not a JSON object but array"));
}

TEST_F(HfErrorsTest, OtherModelTypesAreUnimplemented) {
  for (const char* type : {"Unigram", "WordPiece", "WordLevel"}) {
    Edit("tokenizer.json", [&](Json& d) { d["model"]["type"] = type; });
    EXPECT_EQ(Load().code(), absl::StatusCode::kUnimplemented) << type;
    EXPECT_THAT(Load().message(), HasSubstr(std::string("model.type: '") + type + "'"));
  }
  Edit("tokenizer.json", [](Json& d) { d["model"]["type"] = "Magic"; });
  EXPECT_EQ(Load().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(HfErrorsTest, UnknownSplitRegexIsQuoted) {
  Edit("tokenizer.json", [](Json& d) {
    d["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] =
        "(?i:'s|'t)|\\p{L}+|\\p{N}{1,5}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s+";
  });
  EXPECT_EQ(Load().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Load().message(),
              HasSubstr("pre_tokenizer.pretokenizers[0].pattern.Regex: unknown pre-tokenizer "
                        "regex '(?i:'s|'t)|\\p{L}+|\\p{N}{1,5}| ?[^\\s\\p{L}..."));
}

TEST_F(HfErrorsTest, UnsupportedPipelineSteps) {
  struct Case {
    const char* pointer;
    Json value;
    const char* message;
  };
  const Case cases[] = {
      {"/normalizer", {{"type", "Lowercase"}}, "normalizer: normalizer 'Lowercase'"},
      {"/pre_tokenizer/pretokenizers/1/add_prefix_space", true, "add_prefix_space"},
      {"/pre_tokenizer", {{"type", "Whitespace"}}, "the sequence [Whitespace]"},
      {"/pre_tokenizer/pretokenizers/0/behavior", "Removed", "behavior 'Removed'"},
      {"/decoder", {{"type", "WordPiece"}}, "decoder: decoder 'WordPiece'"},
      {"/post_processor", {{"type", "RobertaProcessing"}}, "'RobertaProcessing'"},
      {"/added_tokens/0/single_word", true, "added_tokens[0].single_word"},
      {"/model/dropout", 0.1, "model.dropout"},
      {"/model/continuing_subword_prefix", "##", "model.continuing_subword_prefix"},
  };
  for (const Case& c : cases) {
    SetUp();
    Edit("tokenizer.json", [&](Json& d) { d[Json::json_pointer(c.pointer)] = c.value; });
    EXPECT_EQ(Load().code(), absl::StatusCode::kUnimplemented) << c.pointer << ": " << Load();
    EXPECT_THAT(Load().message(), HasSubstr(c.message));
  }
}

TEST_F(HfErrorsTest, MalformedFields) {
  struct Case {
    const char* pointer;
    Json value;
    const char* message;
  };
  const Case cases[] = {
      {"/model/vocab", Json::array(), "model.vocab: expected an object, got array"},
      {"/model/vocab/a", "x", "model.vocab.a: expected a token id, got string"},
      {"/model/vocab/a", 1, "model.vocab: id 1 is given to both"},
      {"/model/merges/0", "a b c", "model.merges[0]: 'a b c' is not two tokens"},
      {"/model/merges/0", Json::array({"q", "\xE4\xB8\xAD"}), "merge 0 'q \xE4\xB8\xAD': token"},
      {"/model/unk_token", "<nope>", "model.unk_token: '<nope>' is not in model.vocab"},
      {"/added_tokens/0/id", -3, "added_tokens[0].id: token id -3 is out of range"},
      {"/post_processor/processors/1/special_tokens", Json::object(),
       "special_tokens.<|begin_of_text|>: missing"},
  };
  for (const Case& c : cases) {
    SetUp();
    Edit("tokenizer.json", [&](Json& d) { d[Json::json_pointer(c.pointer)] = c.value; });
    EXPECT_EQ(Load().code(), absl::StatusCode::kInvalidArgument) << c.pointer << ": " << Load();
    EXPECT_THAT(Load().message(), HasSubstr(c.message));
  }
}

TEST_F(HfErrorsTest, ConfigErrorsNameTheFileAndField) {
  Edit("tokenizer_config.json", [](Json& d) { d["eos_token"] = "<|nope|>"; });
  EXPECT_EQ(Load().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Load().message(),
              HasSubstr("tokenizer_config.json: eos_token: '<|nope|>' is not a token of"));
  SetUp();
  Edit("tokenizer_config.json", [](Json& d) { d["bos_token"] = {{"content", 5}}; });
  EXPECT_THAT(Load().message(), HasSubstr("bos_token.content: expected a string"));
  SetUp();
  Edit("tokenizer_config.json", [](Json& d) { d["chat_template"] = 7; });
  EXPECT_THAT(Load().message(), HasSubstr("chat_template: expected a string or a list"));
  SetUp();
  Edit("tokenizer_config.json", [](Json& d) { d["add_bos_token"] = "yes"; });
  EXPECT_THAT(Load().message(), HasSubstr("add_bos_token: expected true or false"));
  SetUp();
  Write("tokenizer_config.json", "{");
  EXPECT_THAT(Load().message(), HasSubstr("tokenizer_config.json: not valid JSON"));
}

TEST_F(HfErrorsTest, GenerationConfigErrors) {
  Edit("generation_config.json", [](Json& d) { d["eos_token_id"] = 1 << 20; });
  EXPECT_EQ(Load().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Load().message(), HasSubstr("generation_config.json: eos_token_id: 1048576 is out"));
  Edit("generation_config.json", [](Json& d) { d["eos_token_id"] = Json::array({1, "x"}); });
  EXPECT_THAT(Load().message(),
              HasSubstr("generation_config.json: eos_token_id[1]: expected a token id"));
}

}  // namespace
}  // namespace llmw
