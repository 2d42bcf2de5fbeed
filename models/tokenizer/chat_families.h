// The chat template families: each factory returns the renderer for a
// template of its family (given in Canonical() form), or nullptr when the
// template is not one of its own.
#pragma once

#include <memory>
#include <string_view>

#include "models/tokenizer/chat_template.h"

namespace llmw::chat {

// <|im_start|>role\ncontent<|im_end|>\n: SmolLM2, Qwen2, Qwen2.5.
std::unique_ptr<ChatTemplate> ChatMlTemplate(std::string_view canonical,
                                             const ChatTemplateContext& context);
// <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>: Llama 3, 3.1, 3.2.
std::unique_ptr<ChatTemplate> Llama3Template(std::string_view canonical,
                                             const ChatTemplateContext& context);
// [INST] ... [/INST]: Llama 2 chat, Mistral Instruct v0.1 to v0.3, Mixtral Instruct.
std::unique_ptr<ChatTemplate> InstTemplate(std::string_view canonical,
                                           const ChatTemplateContext& context);
// <|user|>\n...: Phi-3 and Phi-3.5 (<|end|>), Zephyr and TinyLlama (eos).
std::unique_ptr<ChatTemplate> TaggedTemplate(std::string_view canonical,
                                             const ChatTemplateContext& context);
// <start_of_turn>role\ncontent<end_of_turn>\n: Gemma 1 to 3.
std::unique_ptr<ChatTemplate> GemmaTemplate(std::string_view canonical,
                                            const ChatTemplateContext& context);

}  // namespace llmw::chat
