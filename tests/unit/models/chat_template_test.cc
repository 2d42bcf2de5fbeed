// ChatML rendering against the text the checkpoint's own Jinja template
// produces (rendered with jinja2 from SmolLM2's template).
#include "models/tokenizer/chat_template.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace llmw {
namespace {

// tokenizer.chat_template of SmolLM2-135M-Instruct.
constexpr char kSmolLM2Template[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\n' }}{% endif %}";

TEST(ChatTemplateTest, ChatMlAddsDefaultSystemMessage) {
  auto t = ChatTemplateFromText(kSmolLM2Template);
  ASSERT_TRUE(t.ok()) << t.status();
  // jinja2.Template(template).render(messages=[{"role":"user","content":"Hi"}],
  //                                  add_generation_prompt=True)
  EXPECT_EQ((*t)->Render({{"user", "Hi"}}, true),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplateTest, ChatMlKeepsGivenSystemMessage) {
  auto t = ChatTemplateFromText(kSmolLM2Template);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->Render({{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello"}}, false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello<|im_end|>\n");
}

TEST(ChatTemplateTest, UnknownTemplateIsAClearError) {
  auto t = ChatTemplateFromText("{{ bos_token }}{% for m in messages %}[INST]");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), ::testing::HasSubstr("unrecognised chat template"));
  EXPECT_FALSE(ChatTemplateFromText("").ok());
}

}  // namespace
}  // namespace llmw
