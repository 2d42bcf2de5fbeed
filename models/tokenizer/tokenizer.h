// Tokenizer: the interface every model tokenizer implements (byte-level BPE, SentencePiece-style
// BPE, and both kinds read from tokenizer.json). Implementations are immutable after
// construction and safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace llmw {

// GGUF `tokenizer.ggml.token_type` values.
enum class TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,      // special tokens: <|im_start|>, <|endoftext|>, ...
  kUserDefined = 4,  // added tokens, always matched literally
  kUnused = 5,
  kByte = 6,
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids of `text` (any bytes; invalid UTF-8 is read as U+FFFD). `add_bos` adds BOS and
  // EOS where the model asks for them. `parse_special` matches control tokens written in the
  // text (e.g. "<|im_end|>"); user-defined tokens are always matched.
  virtual std::vector<int32_t> Encode(std::string_view text, bool add_bos,
                                      bool parse_special) const = 0;

  // The bytes token `id` stands for (a control token's text); empty for an unknown id.
  virtual std::string TokenText(int32_t id) const = 0;

  // The bytes of the tokens; control tokens appear only with `render_special`. Unknown ids are
  // skipped. The result need not be valid UTF-8 (a character may span tokens).
  virtual std::string Decode(std::span<const int32_t> ids, bool render_special) const = 0;

  virtual int32_t vocab_size() const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;

  // EOS, EOT and EOM, and the control tokens that end a turn (<|im_end|>, <|eot_id|>, ...).
  virtual bool IsEndOfGeneration(int32_t id) const = 0;

  // The id of the token whose vocabulary entry is exactly `text` (as stored in the model:
  // "<|im_end|>", or "Ġthe" for a byte-level piece).
  virtual std::optional<int32_t> FindToken(std::string_view text) const = 0;
};

}  // namespace llmw
