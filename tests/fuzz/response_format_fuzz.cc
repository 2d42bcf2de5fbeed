// Response formats as a client may send them: grammar text (selector 0) or a JSON Schema
// (selector 1) is compiled as a request's would be; a format that compiles is then driven the way
// generation drives it: a matcher fed probe text byte by byte, and the token mask of a small
// vocabulary at each step (within its work bound). Nothing may crash, leak or run past the fuzz
// time-out.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_util.h"
#include "worker/structured/matcher.h"
#include "worker/structured/response_format.h"
#include "worker/structured/token_trie.h"

namespace {

// Every byte, some words and JSON pieces, and one end-of-generation token (empty bytes).
const llmw::structured::TokenTrie& Vocabulary() {
  static const auto* trie = [] {
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; ++b) tokens.push_back(std::string(1, static_cast<char>(b)));
    for (const char* t :
         {"{\"",          "\":", "\": \"", "\",", "true", "false", "null", "name",
          " the",         "12",  "3.5",    "-",   "\\n",  "[{",    "}]",   "caf\xC3\xA9",
          "\xE6\x97\xA5", "   ", "\n  ",   "abc", "xyz",  "\"}"}) {
      tokens.push_back(t);
    }
    tokens.push_back("");
    std::vector<bool> end(tokens.size(), false);
    end.back() = true;
    return new llmw::structured::TokenTrie(std::move(tokens), std::move(end));
  }();
  return *trie;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  llmw::structured::ResponseFormat format;
  format.kind = data[0] % 2 == 0 ? llmw::structured::ResponseFormat::Kind::kGrammar
                                 : llmw::structured::ResponseFormat::Kind::kJsonSchema;
  format.text.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  absl::StatusOr<std::shared_ptr<const llmw::structured::Grammar>> grammar =
      llmw::structured::CompileResponseFormat(format);
  if (!grammar.ok()) {
    LLMW_FUZZ_CHECK(grammar.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  llmw::structured::GrammarMatcher matcher(*grammar);
  llmw::structured::MaskCache masks(Vocabulary());
  const std::string probe = "{\"name\": \"caf\xC3\xA9\", \"n\": [1, -2.5, true, null]} yes 42 abc";
  for (char c : probe) {
    absl::StatusOr<const llmw::structured::TokenMask*> mask = masks.Mask(matcher);
    if (!mask.ok()) {
      LLMW_FUZZ_CHECK(mask.status().code() == absl::StatusCode::kResourceExhausted);
      break;
    }
    if (!matcher.Accept(static_cast<uint8_t>(c))) break;
  }
  return 0;
}
