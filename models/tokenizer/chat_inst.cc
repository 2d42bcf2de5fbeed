// [INST] templates. They differ in where the system message goes, in the
// spaces around [INST] and [/INST], in BOS/EOS placement and in what they
// refuse:
//   Llama 2 chat:      <s>[INST] <<SYS>>\nsys\n<</SYS>>\n\nuser [/INST] answer </s><s>[INST] ...
//   Mistral original:  <s>[INST] user [/INST]answer</s>[INST] ...   (v0.1 first release: "</s> ")
//   Mistral v0.1/v0.2: <s> [INST] sys\n\nuser [/INST] answer</s> [INST] ...
//   Mistral v0.3:      <s>[INST] user[/INST] answer</s>[INST] sys\n\nlast user[/INST]
#include <optional>

#include "models/tokenizer/chat_families.h"
#include "models/tokenizer/chat_template_util.h"

namespace llmw::chat {
namespace {

constexpr std::string_view kAlternate =
    "Conversation roles must alternate user/assistant/user/assistant/...";
constexpr std::string_view kAlternateAfterSystem =
    "After the optional system message, conversation roles must alternate "
    "user/assistant/user/assistant/...";
constexpr std::string_view kOnlyUserAssistant = "Only user and assistant roles are supported!";
constexpr std::string_view kOnlyUserAssistantAndSystem =
    "Only user and assistant roles are supported, with the exception of an initial optional "
    "system message!";
constexpr std::string_view kToolCallIds =
    "Tool call IDs should be alphanumeric strings with length 9!";

enum class Style { kLlama2, kMistralOriginal, kMistralV1, kMistralV3 };

bool IsUserAt(const ChatMessage& m, size_t index) { return (m.role == "user") == (index % 2 == 0); }

class Inst : public ChatTemplate {
 public:
  Inst(Style style, const ChatTemplateContext& context, bool strip, std::string after_eos)
      : style_(style),
        bos_(context.bos_token),
        eos_(context.eos_token),
        strip_(strip),
        after_eos_(std::move(after_eos)) {}

 private:
  // None of these templates reads add_generation_prompt: a prompt ending with
  // a user turn already ends where the answer starts.
  absl::StatusOr<std::string> RenderMessages(std::span<const ChatMessage> messages,
                                             bool /*add_generation_prompt*/) const override {
    std::optional<std::string_view> system;
    if (style_ != Style::kMistralOriginal && messages[0].role == "system") {
      system = messages[0].content;
      messages = messages.subspan(1);
    }
    switch (style_) {
      case Style::kLlama2:
        return Llama2(messages, system);
      case Style::kMistralOriginal:
        return Mistral(messages, system, kAlternate, kOnlyUserAssistant);
      case Style::kMistralV1:
        return Mistral(messages, system, kAlternateAfterSystem, kOnlyUserAssistantAndSystem);
      case Style::kMistralV3:
        return MistralV3(messages, system);
    }
    return absl::InternalError("unknown [INST] template style");
  }

  std::string_view Strip(std::string_view s) const { return strip_ ? PyStrip(s) : s; }

  absl::StatusOr<std::string> Llama2(std::span<const ChatMessage> messages,
                                     std::optional<std::string_view> system) const {
    std::string out;
    for (size_t i = 0; i < messages.size(); ++i) {
      const ChatMessage& m = messages[i];
      if (!IsUserAt(m, i)) return Refused(kAlternate);
      std::string content;
      if (i == 0 && system.has_value()) Append(&content, "<<SYS>>\n", *system, "\n<</SYS>>\n\n");
      content += m.content;
      if (m.role == "user") Append(&out, bos_, "[INST] ", Strip(content), " [/INST]");
      if (m.role == "assistant") Append(&out, " ", Strip(content), " ", eos_);
    }
    return out;
  }

  // The original and v0.1/v0.2 templates: checks and renders turn by turn;
  // v0.1/v0.2 put the system message before the first user turn.
  absl::StatusOr<std::string> Mistral(std::span<const ChatMessage> messages,
                                      std::optional<std::string_view> system,
                                      std::string_view alternate,
                                      std::string_view only_user_assistant) const {
    const std::string_view open = style_ == Style::kMistralV1 ? " [INST] " : "[INST] ";
    const std::string_view answer_space = style_ == Style::kMistralV1 ? " " : "";
    std::string out = bos_;
    for (size_t i = 0; i < messages.size(); ++i) {
      const ChatMessage& m = messages[i];
      if (!IsUserAt(m, i)) return Refused(alternate);
      if (m.role == "user") {
        Append(&out, open);
        if (i == 0 && system.has_value()) Append(&out, *system, "\n\n");
        Append(&out, m.content, " [/INST]");
      } else if (m.role == "assistant") {
        Append(&out, answer_space, m.content, eos_, after_eos_);
      } else {
        return Refused(only_user_assistant);
      }
    }
    return out;
  }

  // v0.3 checks the alternation of the whole conversation first (tool turns
  // aside), then puts the system message before the last turn when that is a
  // user turn.
  absl::StatusOr<std::string> MistralV3(std::span<const ChatMessage> messages,
                                        std::optional<std::string_view> system) const {
    const auto is_tool = [](const ChatMessage& m) {
      return m.role == "tool" || m.role == "tool_results";
    };
    size_t index = 0;
    for (const ChatMessage& m : messages) {
      if (is_tool(m)) continue;
      if (!IsUserAt(m, index++)) return Refused(kAlternateAfterSystem);
    }
    std::string out = bos_;
    for (size_t i = 0; i < messages.size(); ++i) {
      const ChatMessage& m = messages[i];
      if (m.role == "user") {
        Append(&out, "[INST] ");
        if (i + 1 == messages.size() && system.has_value()) Append(&out, *system, "\n\n");
        Append(&out, m.content, "[/INST]");
      } else if (m.role == "assistant") {
        Append(&out, " ", PyStrip(m.content), eos_);
      } else if (is_tool(m)) {
        return Refused(kToolCallIds);  // our messages carry no tool_call_id
      } else {
        return Refused(kOnlyUserAssistantAndSystem);
      }
    }
    return out;
  }

  Style style_;
  std::string bos_;
  std::string eos_;
  bool strip_;             // Llama 2: content.strip() (or |trim)
  std::string after_eos_;  // Mistral v0.1 first release: " "
};

}  // namespace

std::unique_ptr<ChatTemplate> InstTemplate(std::string_view canonical,
                                           const ChatTemplateContext& context) {
  const auto has = [&](std::string_view marker) {
    return canonical.find(marker) != canonical.npos;
  };
  if (!has("[INST]")) return nullptr;
  if (has("'<<SYS>>\n'+system_message+'\n<</SYS>>\n\n'+message['content']") &&
      has("system_message=false") && has(kAlternate) && RoleTests(canonical) == 3 &&
      !has("'<<SYS>>'in")) {
    for (std::string_view content : {"content.strip()", "content|trim", "content"}) {
      const std::string user =
          std::string("{{bos_token+'[INST] '+") + std::string(content) + "+' [/INST]'}}";
      const std::string answer = std::string("{{' '+") + std::string(content) + "+' '+eos_token}}";
      if (has(user) && has(answer)) {
        return std::make_unique<Inst>(Style::kLlama2, context, content != "content", "");
      }
    }
    return nullptr;
  }
  // The Mistral templates write BOS once, before the turns.
  if (!has("{{bos_token}}")) return nullptr;
  if (has("{{' [INST] '+system_message+'\n\n'+message['content']+' [/INST]'}}") &&
      has("{{' [INST] '+message['content']+' [/INST]'}}") &&
      has("{{' '+message['content']+eos_token}}") &&
      has("loop.first and system_message is defined") && has(kAlternateAfterSystem) &&
      has(kOnlyUserAssistantAndSystem) && RoleTests(canonical) == 3) {
    return std::make_unique<Inst>(Style::kMistralV1, context, false, "");
  }
  if (has("{{'[INST] '+system_message+'\n\n'+message['content']+'[/INST]'}}") &&
      has("{{'[INST] '+message['content']+'[/INST]'}}") &&
      has("{{' '+message['content']|trim+eos_token}}") &&
      has("loop.last and system_message is defined") && has("ns.index") &&
      has(kAlternateAfterSystem) && has(kOnlyUserAssistantAndSystem) && RoleTests(canonical) == 7) {
    return std::make_unique<Inst>(Style::kMistralV3, context, false, "");
  }
  if (has("{{'[INST] '+message['content']+' [/INST]'}}") && has(kAlternate) &&
      has(kOnlyUserAssistant) && RoleTests(canonical) == 3 && !has("system")) {
    if (has("{{message['content']+eos_token+' '}}")) {
      return std::make_unique<Inst>(Style::kMistralOriginal, context, false, " ");
    }
    if (has("{{message['content']+eos_token}}")) {
      return std::make_unique<Inst>(Style::kMistralOriginal, context, false, "");
    }
  }
  return nullptr;
}

}  // namespace llmw::chat
