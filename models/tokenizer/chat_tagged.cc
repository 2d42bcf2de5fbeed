// Templates that open each turn with a <|role|> tag on its own line:
//   Phi-3 and Phi-3.5:  <|user|>\ncontent<|end|>\n ... then <|assistant|>\n, or EOS when no
//                       generation prompt is asked for (Phi-3.5 skips an empty system message);
//   Phi-3 first release: [BOS]<|user|>\ncontent<|end|>\n<|assistant|>\n, system turns dropped;
//   Zephyr, TinyLlama:  <|user|>\ncontent</s>\n ... then <|assistant|>\n.
#include "models/tokenizer/chat_families.h"
#include "models/tokenizer/chat_template_util.h"

namespace llmw::chat {
namespace {

bool IsChatRole(std::string_view role) {
  return role == "system" || role == "user" || role == "assistant";
}

class Phi3 : public ChatTemplate {
 public:
  Phi3(std::string eos, bool skip_empty_system)
      : eos_(std::move(eos)), skip_empty_system_(skip_empty_system) {}

 private:
  absl::StatusOr<std::string> RenderMessages(std::span<const ChatMessage> messages,
                                             bool add_generation_prompt) const override {
    std::string out;
    for (const ChatMessage& m : messages) {
      if (!IsChatRole(m.role)) continue;
      if (skip_empty_system_ && m.role == "system" && m.content.empty()) continue;
      Append(&out, "<|", m.role, "|>\n", m.content, "<|end|>\n");
    }
    out += add_generation_prompt ? std::string_view("<|assistant|>\n") : std::string_view(eos_);
    return out;
  }

  std::string eos_;
  bool skip_empty_system_;
};

// The first Phi-3 template: every user turn opens the assistant's.
class Phi3Original : public ChatTemplate {
 public:
  explicit Phi3Original(std::string bos) : bos_(std::move(bos)) {}

 private:
  absl::StatusOr<std::string> RenderMessages(std::span<const ChatMessage> messages,
                                             bool /*add_generation_prompt*/) const override {
    std::string out = bos_;
    for (const ChatMessage& m : messages) {
      if (m.role == "user") Append(&out, "<|user|>\n", m.content, "<|end|>\n<|assistant|>\n");
      if (m.role == "assistant") Append(&out, m.content, "<|end|>\n");
    }
    return out;
  }

  std::string bos_;
};

class Zephyr : public ChatTemplate {
 public:
  explicit Zephyr(std::string eos) : eos_(std::move(eos)) {}

 private:
  absl::StatusOr<std::string> RenderMessages(std::span<const ChatMessage> messages,
                                             bool add_generation_prompt) const override {
    std::string out;
    for (const ChatMessage& m : messages) {
      if (IsChatRole(m.role)) Append(&out, "<|", m.role, "|>\n", m.content, eos_, "\n");
    }
    if (add_generation_prompt) out += "<|assistant|>\n";
    return out;
  }

  std::string eos_;
};

}  // namespace

std::unique_ptr<ChatTemplate> TaggedTemplate(std::string_view canonical,
                                             const ChatTemplateContext& context) {
  const auto has = [&](std::string_view marker) {
    return canonical.find(marker) != canonical.npos;
  };
  const auto has_turns = [&](std::string_view end) {
    for (std::string_view role : {"system", "user", "assistant"}) {
      const std::string turn = std::string("{{'<|") + std::string(role) +
                               "|>\n'+message['content']+" + std::string(end) + "}}";
      if (!has(turn)) return false;
    }
    return true;
  };
  const size_t role_tests = RoleTests(canonical);
  if (has_turns("'<|end|>\n'") && role_tests == 3 && !has("bos_token") &&
      has("{%if add_generation_prompt%}{{'<|assistant|>\n'}}{%else%}{{eos_token}}{%endif%}")) {
    return std::make_unique<Phi3>(context.eos_token,
                                  has("message['role']=='system'and message['content']"));
  }
  if (has("{{'<|user|>'+'\n'+message['content']+'<|end|>'+'\n'+'<|assistant|>'+'\n'}}") &&
      has("{{message['content']+'<|end|>'+'\n'}}") && role_tests == 2 &&
      (canonical.starts_with("{{bos_token}}") || !has("bos_token"))) {
    return std::make_unique<Phi3Original>(has("bos_token") ? context.bos_token : "");
  }
  // Zephyr's turns end with a newline after the tag, outside the expression.
  if (has_turns("eos_token") && role_tests == 3 && has("eos_token}}\n") && !has("bos_token") &&
      has("{%if loop.last and add_generation_prompt%}") && has("{{'<|assistant|>'}}\n")) {
    return std::make_unique<Zephyr>(context.eos_token);
  }
  return nullptr;
}

}  // namespace llmw::chat
