// Chat templates rendering arbitrary messages. The input is split at 0xFF
// bytes into role, content, role, content, ...; every committed template that
// is recognised renders them (or refuses with a status), and the tokenizer of
// a model with that template encodes the result.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "models/tokenizer/chat_prompt.h"
#include "models/tokenizer/chat_template.h"
#include "models/tokenizer/hf_tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

std::vector<std::unique_ptr<llmw::ChatTemplate>> LoadTemplates(const llmw::Tokenizer& tokenizer) {
  std::vector<std::unique_ptr<llmw::ChatTemplate>> templates;
  for (const auto& entry :
       std::filesystem::directory_iterator(llmw::fuzz::Fixtures() / "chat_templates")) {
    if (entry.path().extension() != ".jinja") continue;
    auto t = llmw::ChatTemplateFromText(llmw::fuzz::ReadFile(entry.path()),
                                        llmw::ChatContextOf(tokenizer));
    if (t.ok()) templates.push_back(std::move(*t));
  }
  LLMW_FUZZ_CHECK(templates.size() >= 10);
  return templates;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llmw;
  static const HfTokenizerFiles files = [] {
    auto f = LoadHfTokenizer((fuzz::Fixtures() / "hf_tiny" / "qwen2").string());
    LLMW_FUZZ_CHECK(f.ok());
    return std::move(*f);
  }();
  static const std::vector<std::unique_ptr<ChatTemplate>> templates =
      LoadTemplates(*files.tokenizer);
  if (size < 1) return 0;
  std::vector<std::string> parts(1);
  for (size_t i = 1; i < size; ++i) {
    if (data[i] == 0xFF) {
      parts.emplace_back();
    } else {
      parts.back().push_back(static_cast<char>(data[i]));
    }
  }
  std::vector<ChatMessage> messages;
  for (size_t i = 0; i + 1 < parts.size(); i += 2) messages.push_back({parts[i], parts[i + 1]});
  const ChatTemplate& chat = *templates[data[0] % templates.size()];
  absl::StatusOr<std::string> prompt = chat.Render(messages, /*add_generation_prompt=*/data[0] & 1);
  if (!prompt.ok()) return 0;
  for (int32_t id : EncodeChatPrompt(*files.tokenizer, *prompt, true)) {
    LLMW_FUZZ_CHECK(id >= 0 && id < files.tokenizer->vocab_size());
  }
  return 0;
}
