// The tokenizer.json loader against the `tokenizers` library: ids (with and without the
// template's tokens, with special tokens matched or read as text) and decoded text for every
// corpus string and each fixture tokenizer, and the small option variants of variants.json.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/tokenizer/byte_unicode.h"
#include "models/tokenizer/hf_bpe_tokenizer.h"
#include "models/tokenizer/hf_tokenizer.h"
#include "models/tokenizer/hf_tokenizer_json.h"
#include "models/tokenizer/pretokenizer.h"
#include "tests/unit/tokenizer/fixtures.h"
#include "tests/unit/tokenizer/hf_fixtures.h"

namespace llmw {
namespace {

using tokenizer_test::HfFixturePath;
using tokenizer_test::ReadFixture;
using tokenizer_test::ReadHfFixture;
using tokenizer_test::ReadText;

// The reference's Strip decoder drops one leading space of the whole text that ours keeps.
std::string AsReferenceDecodes(const HfBpeTokenizer& t, std::string text) {
  if (!t.byte_level() && !text.empty() && text[0] == ' ') text.erase(0, 1);
  return text;
}

// Checks one entry of ids.json / variants.json for `text`; returns the number of mismatches.
int CheckEntry(const HfBpeTokenizer& t, const std::string& text, const nlohmann::json& e,
               const std::string& where) {
  const auto ids = e["ids"].get<std::vector<int32_t>>();
  const auto ids_bos = e.value("ids_bos", ids);
  const auto ids_literal = e.value("ids_literal", ids);
  int bad = 0;
  auto expect = [&](const auto& got, const auto& want, const char* what) {
    EXPECT_EQ(got, want) << where << " " << what << " of " << ::testing::PrintToString(text);
    bad += got != want;
  };
  expect(t.Encode(text, /*add_bos=*/false, /*parse_special=*/true), ids, "ids");
  expect(t.Encode(text, /*add_bos=*/true, /*parse_special=*/true), ids_bos, "ids_bos");
  expect(t.Encode(text, /*add_bos=*/false, /*parse_special=*/false), ids_literal, "ids_literal");
  expect(AsReferenceDecodes(t, t.Decode(ids, /*render_special=*/true)), e.value("decoded", text),
         "decoded");
  expect(AsReferenceDecodes(t, t.Decode(ids, /*render_special=*/false)),
         e.value("decoded_skip", text), "decoded_skip");
  return bad;
}

// The reference pre-tokenizer's pieces (byte-mapped) of `text`, for the byte-level fixtures.
void CheckPieces(const std::string& fixture, const std::string& text, const nlohmann::json& want) {
  const PreTokenizer kind = fixture == "llama3"  ? PreTokenizer::kLlama3
                            : fixture == "qwen2" ? PreTokenizer::kQwen2
                                                 : PreTokenizer::kGpt2;
  std::vector<std::string> got;
  for (std::string_view piece :
       PreTokenize(kind, text, /*unicode_case=*/kind != PreTokenizer::kGpt2)) {
    AppendBytesAsUnicode(piece, &got.emplace_back());
  }
  EXPECT_EQ(got, want.get<std::vector<std::string>>())
      << fixture << " pieces of " << ::testing::PrintToString(text);
}

class HfReferenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HfReferenceTest, MatchesTokenizersLibrary) {
  absl::StatusOr<HfTokenizerFiles> files = LoadHfTokenizer(HfFixturePath(GetParam()));
  ASSERT_TRUE(files.ok()) << files.status();
  const auto* t = dynamic_cast<const HfBpeTokenizer*>(files->tokenizer.get());
  ASSERT_NE(t, nullptr);
  const nlohmann::json corpus = ReadFixture("corpus.json");
  const nlohmann::json entries = ReadHfFixture(GetParam() + "/ids.json");
  ASSERT_GT(entries.size(), 100u);
  int bad = 0;
  for (const nlohmann::json& e : entries) {
    const std::string text = e.contains("corpus")
                                 ? corpus[e["corpus"].get<size_t>()]["text"].get<std::string>()
                                 : e["text"].get<std::string>();
    bad += CheckEntry(*t, text, e, GetParam());
    if (e.contains("pieces")) CheckPieces(GetParam(), text, e["pieces"]);
    if (bad > 20) FAIL() << "too many mismatches";
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfReferenceTest,
                         ::testing::Values("llama3", "qwen2", "gpt2", "llama2", "mistral"));

TEST(HfVariantsTest, MatchesTokenizersLibrary) {
  const nlohmann::json variants = ReadHfFixture("variants.json");
  ASSERT_GT(variants.size(), 5u);
  for (const nlohmann::json& v : variants) {
    const std::string name = v["name"].get<std::string>();
    nlohmann::json doc = ReadHfFixture(v["base"].get<std::string>() + "/tokenizer.json");
    doc = doc.patch(v["patch"]);
    absl::StatusOr<HfBpeSpec> spec = HfBpeSpecFromJson(doc.dump(), name);
    ASSERT_TRUE(spec.ok()) << spec.status();
    absl::StatusOr<std::unique_ptr<HfBpeTokenizer>> t = HfBpeTokenizer::Create(*std::move(spec));
    ASSERT_TRUE(t.ok()) << t.status();
    for (const nlohmann::json& c : v["cases"]) {
      CheckEntry(**t, c["text"].get<std::string>(), c, name);
    }
  }
}

TEST(HfTokenizerFilesTest, Llama3SpecialTokensAndTemplate) {
  absl::StatusOr<HfTokenizerFiles> files = LoadHfTokenizer(HfFixturePath("llama3"));
  ASSERT_TRUE(files.ok()) << files.status();
  const Tokenizer& t = *files->tokenizer;
  const int32_t bos = *t.FindToken("<|begin_of_text|>");
  const int32_t eot = *t.FindToken("<|eot_id|>");
  const int32_t eom = *t.FindToken("<|eom_id|>");
  const int32_t end = *t.FindToken("<|end_of_text|>");
  EXPECT_EQ(t.bos_id(), bos);
  EXPECT_EQ(t.eos_id(), eot);
  EXPECT_THAT(files->end_of_generation_ids, ::testing::ElementsAre(eot, end, eom));
  for (int32_t id : {eot, eom, end}) EXPECT_TRUE(t.IsEndOfGeneration(id)) << id;
  EXPECT_FALSE(t.IsEndOfGeneration(bos));
  EXPECT_EQ(t.Encode("", /*add_bos=*/true, /*parse_special=*/true), std::vector<int32_t>{bos});
  EXPECT_THAT(files->chat_template, ::testing::HasSubstr("<|start_header_id|>"));
  EXPECT_TRUE(files->named_chat_templates.empty());
  EXPECT_EQ(t.Decode(std::vector<int32_t>{eot}, /*render_special=*/true), "<|eot_id|>");
  EXPECT_EQ(t.Decode(std::vector<int32_t>{eot}, /*render_special=*/false), "");
}

TEST(HfTokenizerFilesTest, Qwen2HasNoBosAndTwoEndIds) {
  absl::StatusOr<HfTokenizerFiles> files = LoadHfTokenizer(HfFixturePath("qwen2"));
  ASSERT_TRUE(files.ok()) << files.status();
  const Tokenizer& t = *files->tokenizer;
  EXPECT_EQ(t.bos_id(), std::nullopt);
  EXPECT_EQ(t.eos_id(), t.FindToken("<|im_end|>"));
  EXPECT_TRUE(t.IsEndOfGeneration(*t.FindToken("<|endoftext|>")));
  EXPECT_EQ(files->end_of_generation_ids.size(), 2u);
  EXPECT_TRUE(t.Encode("", /*add_bos=*/true, /*parse_special=*/true).empty());
  EXPECT_THAT(files->chat_template, ::testing::HasSubstr("<|im_start|>"));
}

TEST(HfTokenizerFilesTest, Gpt2WithoutGenerationConfig) {
  absl::StatusOr<HfTokenizerFiles> files = LoadHfTokenizer(HfFixturePath("gpt2"));
  ASSERT_TRUE(files.ok()) << files.status();
  const Tokenizer& t = *files->tokenizer;
  const int32_t eot = *t.FindToken("<|endoftext|>");
  EXPECT_EQ(t.bos_id(), eot);
  EXPECT_EQ(t.eos_id(), eot);
  EXPECT_THAT(files->end_of_generation_ids, ::testing::ElementsAre(eot));
  EXPECT_TRUE(files->chat_template.empty());
  // Runs of spaces are ordinary added tokens: always matched, always shown.
  const int32_t four = *t.FindToken("    ");
  EXPECT_THAT(t.Encode("a    b", false, /*parse_special=*/false), ::testing::Contains(four));
  EXPECT_EQ(t.Decode(std::vector<int32_t>{four}, /*render_special=*/false), "    ");
}

TEST(HfTokenizerFilesTest, Llama2AddsBosFromConfigObjects) {
  absl::StatusOr<HfTokenizerFiles> files = LoadHfTokenizer(HfFixturePath("llama2"));
  ASSERT_TRUE(files.ok()) << files.status();
  const Tokenizer& t = *files->tokenizer;
  EXPECT_EQ(t.bos_id(), 1);
  EXPECT_EQ(t.eos_id(), 2);
  EXPECT_THAT(files->end_of_generation_ids, ::testing::ElementsAre(2));
  EXPECT_EQ(t.Encode("Hi", /*add_bos=*/true, true)[0], 1);
  EXPECT_EQ(t.Decode(t.Encode("\xF0\x9F\x99\x82 ok", false, true), false), " \xF0\x9F\x99\x82 ok");
  EXPECT_THAT(files->chat_template, ::testing::HasSubstr("[INST]"));
}

TEST(HfTokenizerFilesTest, MistralNamedTemplates) {
  absl::StatusOr<HfTokenizerFiles> files = LoadHfTokenizer(HfFixturePath("mistral"));
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->named_chat_templates.size(), 2u);
  EXPECT_EQ(files->named_chat_templates[1].first, "tool_use");
  EXPECT_EQ(files->chat_template, files->named_chat_templates[0].second);
  const Tokenizer& t = *files->tokenizer;
  EXPECT_EQ(t.TokenText(*t.FindToken("<0x41>")), "A");
  EXPECT_EQ(t.Decode(t.Encode("[INST] x [/INST]", false, true), true), "[INST] x [/INST]");
}

TEST(HfTokenizerFilesTest, ReadsGenerationEosIdsAsIdOrList) {
  EXPECT_THAT(*ReadGenerationEosIds(HfFixturePath("llama2")), ::testing::ElementsAre(2));
  EXPECT_EQ(ReadGenerationEosIds(HfFixturePath("llama3"))->size(), 3u);
  EXPECT_TRUE(ReadGenerationEosIds(HfFixturePath("gpt2"))->empty());
  EXPECT_FALSE(ReadText(HfFixturePath("llama3/generation_config.json")).empty());
}

}  // namespace
}  // namespace llmw
