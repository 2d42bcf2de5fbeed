// The chat template renderers against what the checkpoints' own Jinja
// templates render under transformers (tests/fixtures/chat_templates, made by
// make_chat_fixtures.py), byte for byte, refusals included.
#include "models/tokenizer/chat_template.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/tokenizer/chat_prompt.h"
#include "models/tokenizer/chat_template_util.h"

namespace llmw {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

std::string ReadFixture(const std::string& name) {
  const char* root = std::getenv("LLMW_SOURCE_DIR");
  const std::string path =
      std::string(root != nullptr ? root : ".") + "/tests/fixtures/chat_templates/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<ChatMessage> Messages(const nlohmann::json& conversation) {
  std::vector<ChatMessage> messages;
  for (const nlohmann::json& m : conversation) messages.push_back({m["role"], m["content"]});
  return messages;
}

std::unique_ptr<ChatTemplate> FromFixture(const std::string& name, ChatTemplateContext context) {
  absl::StatusOr<std::unique_ptr<ChatTemplate>> t =
      ChatTemplateFromText(ReadFixture(name + ".jinja"), context);
  EXPECT_TRUE(t.ok()) << name << ": " << t.status();
  return t.ok() ? std::move(*t) : nullptr;
}

TEST(ChatTemplateTest, RendersWhatTheCheckpointTemplatesRender) {
  const nlohmann::json fixture = nlohmann::json::parse(ReadFixture("expected.json"));
  ASSERT_GE(fixture["templates"].size(), 17u);
  for (const auto& [name, expected] : fixture["templates"].items()) {
    SCOPED_TRACE(name);
    const ChatTemplateContext context{expected["bos_token"], expected["eos_token"],
                                      fixture["today"]};
    std::unique_ptr<ChatTemplate> t = FromFixture(name, context);
    ASSERT_NE(t, nullptr);
    for (const nlohmann::json& c : expected["cases"]) {
      const std::string conversation = c["conversation"];
      const bool add_generation_prompt = c["add_generation_prompt"];
      SCOPED_TRACE(conversation + (add_generation_prompt ? " +generation prompt" : ""));
      absl::StatusOr<std::string> out =
          t->Render(Messages(fixture["conversations"][conversation]), add_generation_prompt);
      if (c.contains("output")) {
        ASSERT_TRUE(out.ok()) << out.status();
        EXPECT_EQ(*out, c["output"].get<std::string>());
      } else {
        EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
        EXPECT_THAT(out.status().message(), HasSubstr(c["error"].get<std::string>()));
      }
    }
  }
}

// tokenizer.chat_template of SmolLM2-135M-Instruct, respelled: double quotes,
// other spacing, whitespace control and a comment render the same.
TEST(ChatTemplateTest, RecognisesRespelledTemplates) {
  const std::string respelled =
      "{# SmolLM2 #}{%- for message in messages -%}{%- if loop.first and "
      "messages[0][\"role\"] != \"system\" -%}{{- \"<|im_start|>system\\nYou are a helpful AI "
      "assistant named SmolLM, trained by Hugging Face<|im_end|>\\n\" -}}{%- endif -%}"
      "{{- \"<|im_start|>\" + message.role + \"\\n\" + message.content + \"<|im_end|>\" + \"\\n\" "
      "-}}{%- endfor -%}{%- if add_generation_prompt -%}{{- \"<|im_start|>assistant\\n\" -}}"
      "{%- endif -%}";
  absl::StatusOr<std::unique_ptr<ChatTemplate>> t = ChatTemplateFromText(respelled, {});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*(*t)->Render({{"user", "Hi"}}, true),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplateTest, UnknownTemplateIsAClearError) {
  const std::string text = "{{ bos_token }}{% for m in messages %}<|turn|>{{ m.content }}";
  absl::StatusOr<std::unique_ptr<ChatTemplate>> t = ChatTemplateFromText(text, {});
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("unrecognised chat template"));
  EXPECT_THAT(t.status().message(), HasSubstr(text.substr(0, 40)));
  EXPECT_EQ(ChatTemplateFromText("", {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChatTemplateTest, VariantsWithOtherOutputAreNotTakenForKnownOnes) {
  // Qwen3 (reasoning blocks) and Hermes-style ChatML with BOS are ChatML but write more.
  for (const std::string text :
       {"{{bos_token}}{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
        "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt "
        "%}{{ '<|im_start|>assistant\\n' }}{% endif %}",
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
        "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt "
        "%}{{ '<|im_start|>assistant\\n<think>\\n' }}{% endif %}"}) {
    EXPECT_EQ(ChatTemplateFromText(text, {}).status().code(), absl::StatusCode::kInvalidArgument)
        << text;
  }
}

TEST(ChatTemplateTest, NoMessagesIsAnError) {
  std::unique_ptr<ChatTemplate> t = FromFixture("smollm2-instruct", {});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->Render({}, true).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChatTemplateTest, ToolResultsAreRefusedNotMisrendered) {
  const std::vector<ChatMessage> messages = {{"user", "Weather?"}, {"tool", "{\"t\": 21}"}};
  for (const std::string name : {"qwen2.5-instruct", "llama-3.1-instruct", "llama-3.2-instruct",
                                 "mistral-7b-instruct-v0.3"}) {
    std::unique_ptr<ChatTemplate> t = FromFixture(name, {"<s>", "</s>", "07 Mar 2025"});
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->Render(messages, true).status().code(), absl::StatusCode::kInvalidArgument)
        << name;
  }
}

TEST(ChatTemplateTest, Llama32WritesTodaysDateWhenNoneIsGiven) {
  std::unique_ptr<ChatTemplate> t =
      FromFixture("llama-3.2-instruct", {"<|begin_of_text|>", "", ""});
  ASSERT_NE(t, nullptr);
  absl::StatusOr<std::string> out = t->Render({{"user", "Hi"}}, true);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(*out, HasSubstr("Today Date: " + chat::LocalDate() + "\n\n"));
  EXPECT_THAT(chat::LocalDate(), MatchesRegex("[0-3][0-9] [A-Z][a-z][a-z] [0-9]+"));
}

TEST(ChatTemplateTest, PyStripMatchesPythonWhitespace) {
  EXPECT_EQ(chat::PyStrip(" \t\n\x1c x y \x1f\r"), "x y");
  EXPECT_EQ(chat::PyStrip("\xc2\xa0\xe3\x80\x80x\xe2\x80\xa8"), "x");  // U+00A0, U+3000, U+2028
  EXPECT_EQ(chat::PyStrip("\xe2\x80\x8bx"), "\xe2\x80\x8bx");          // U+200B is not whitespace
  EXPECT_EQ(chat::PyStrip("   "), "");
  EXPECT_EQ(chat::PyStrip("x\xe3\x80"), "x\xe3\x80");  // a truncated character stays
}

// A tokenizer that writes down how it was asked to encode.
class RecordingTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> Encode(std::string_view text, bool add_bos,
                              bool parse_special) const override {
    return {add_bos ? 1 : 0, parse_special ? 1 : 0, static_cast<int32_t>(text.size())};
  }
  std::string TokenText(int32_t id) const override { return id == 1 ? "<s>" : "</s>"; }
  std::string Decode(std::span<const int32_t>, bool) const override { return ""; }
  int32_t vocab_size() const override { return 3; }
  std::optional<int32_t> bos_id() const override { return 1; }
  std::optional<int32_t> eos_id() const override { return 2; }
  bool IsEndOfGeneration(int32_t id) const override { return id == 2; }
  std::optional<int32_t> FindToken(std::string_view) const override { return std::nullopt; }
};

TEST(ChatPromptTest, AddsBosOnlyWhenTheTemplateDidNot) {
  RecordingTokenizer tokenizer;
  const ChatTemplateContext context = ChatContextOf(tokenizer);
  EXPECT_EQ(context.bos_token, "<s>");
  EXPECT_EQ(context.eos_token, "</s>");
  EXPECT_EQ(EncodeChatPrompt(tokenizer, "<s>[INST] Hi [/INST]", true),
            (std::vector<int32_t>{0, 1, 20}));
  EXPECT_EQ(EncodeChatPrompt(tokenizer, "<|user|>\nHi<|end|>\n", true),
            (std::vector<int32_t>{1, 1, 19}));
  EXPECT_EQ(EncodeChatPrompt(tokenizer, "<|user|>\nHi<|end|>\n", false),
            (std::vector<int32_t>{0, 1, 19}));
}

}  // namespace
}  // namespace llmw
