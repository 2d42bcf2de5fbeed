// Llama 3 templates (<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>):
// Llama 3 puts BOS before the first turn; Llama 3.1 and 3.2 always open with a
// system turn that carries the knowledge cutoff, the date and the trimmed
// system message (3.1 writes a fixed date, 3.2 today's).
#include <optional>

#include "models/tokenizer/chat_families.h"
#include "models/tokenizer/chat_template_util.h"

namespace llmw::chat {
namespace {

constexpr std::string_view kTurn =
    "'<|start_header_id|>'+message['role']+'<|end_header_id|>\n\n'+message['content']|trim+"
    "'<|eot_id|>'";
constexpr std::string_view kAssistantHeader = "<|start_header_id|>assistant<|end_header_id|>\n\n";

void AppendTurn(const ChatMessage& m, std::string* out) {
  Append(out, "<|start_header_id|>", m.role, "<|end_header_id|>\n\n", PyStrip(m.content),
         "<|eot_id|>");
}

class Llama3 : public ChatTemplate {
 public:
  Llama3(std::string bos, bool always_prompts)
      : bos_(std::move(bos)), always_prompts_(always_prompts) {}

 private:
  absl::StatusOr<std::string> RenderMessages(std::span<const ChatMessage> messages,
                                             bool add_generation_prompt) const override {
    std::string out = bos_;
    for (const ChatMessage& m : messages) AppendTurn(m, &out);
    if (add_generation_prompt || always_prompts_) out += kAssistantHeader;
    return out;
  }

  std::string bos_;
  bool always_prompts_;  // the first Llama 3 template opens the assistant turn unasked
};

class Llama31 : public ChatTemplate {
 public:
  // `date`: the fixed date the template writes; nullopt: today's.
  Llama31(std::string bos, std::string knowledge, std::optional<std::string> date)
      : bos_(std::move(bos)), knowledge_(std::move(knowledge)), date_(std::move(date)) {}

 private:
  absl::StatusOr<std::string> RenderMessages(std::span<const ChatMessage> messages,
                                             bool add_generation_prompt) const override {
    std::string_view system;
    if (messages[0].role == "system") {
      system = PyStrip(messages[0].content);
      messages = messages.subspan(1);
    }
    std::string out = bos_;
    Append(&out, "<|start_header_id|>system<|end_header_id|>\n\n", knowledge_,
           "Today Date: ", date_.has_value() ? *date_ : LocalDate(), "\n\n", system, "<|eot_id|>");
    for (const ChatMessage& m : messages) {
      if (m.role == "tool" || m.role == "ipython") return UnsupportedRole(m.role, "Llama 3.1");
      AppendTurn(m, &out);
    }
    if (add_generation_prompt) out += kAssistantHeader;
    return out;
  }

  std::string bos_;
  std::string knowledge_;  // "Cutting Knowledge Date: ...\n"
  std::optional<std::string> date_;
};

}  // namespace

std::unique_ptr<ChatTemplate> Llama3Template(std::string_view canonical,
                                             const ChatTemplateContext& context) {
  const auto has = [&](std::string_view marker) {
    return canonical.find(marker) != canonical.npos;
  };
  if (!has(kTurn) || has("image")) return nullptr;
  if (has("set content=bos_token+content") && has("if loop.index0==0") &&
      RoleTests(canonical) == 0) {
    return std::make_unique<Llama3>(context.bos_token, !has("add_generation_prompt"));
  }
  const std::optional<std::string> knowledge = LiteralStartingWith(canonical, "'Cutting Knowledge");
  if (!knowledge.has_value() || !has("'<|start_header_id|>system<|end_header_id|>\n\n'") ||
      !has("'Today Date: '+date_string+'\n\n'") || !has("{{'<|eot_id|>'}}") ||
      !has("if add_generation_prompt") || RoleTests(canonical) != 4) {
    return nullptr;
  }
  std::optional<std::string> date;
  if (has("strftime_now")) {
    if (!context.today.empty()) date = context.today;
  } else {
    constexpr std::string_view kSetDate = "set date_string=";
    const size_t at = canonical.find(kSetDate);
    if (at == canonical.npos || canonical.substr(at + kSetDate.size(), 1) != "'") return nullptr;
    date = LiteralStartingWith(canonical, "'", at + kSetDate.size());
  }
  const std::string bos = has("{{bos_token}}") ? context.bos_token : "";
  return std::make_unique<Llama31>(bos, *knowledge, std::move(date));
}

}  // namespace llmw::chat
