// StreamDecoder: turns a stream of token ids into text pieces that are always whole UTF-8
// characters. Bytes of a character split across tokens are held until it is complete; bytes that
// can never form a valid character come out as U+FFFD, one per maximal invalid subpart (a
// truncated character is one U+FFFD, as in Python's decoder).
//
//   StreamDecoder d(tokenizer, /*render_special=*/false);
//   for (int32_t id : generated) Send(d.Push(id));
//   Send(d.Flush());
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "models/tokenizer/tokenizer.h"

namespace llmw {

class StreamDecoder {
 public:
  // `tokenizer` must outlive the decoder.
  explicit StreamDecoder(const Tokenizer& tokenizer, bool render_special = false)
      : tokenizer_(tokenizer), render_special_(render_special) {}

  // The text that token `id` completes (possibly empty).
  std::string Push(int32_t id);
  // Appends raw bytes; returns the complete characters they finish.
  std::string PushBytes(std::string_view bytes);
  // Ends the stream: held bytes (an unfinished character) come out as U+FFFD.
  std::string Flush();

  // Bytes held back for an unfinished character (at most 3).
  size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer& tokenizer_;
  bool render_special_;
  std::string pending_;
};

// Strict UTF-8 repair for whole strings: each maximal invalid subpart becomes one U+FFFD (a
// truncated character at the end too), as Python's bytes.decode(errors="replace") does.
std::string ToValidUtf8(std::string_view bytes);

}  // namespace llmw
