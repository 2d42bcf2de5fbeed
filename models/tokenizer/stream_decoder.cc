// StreamDecoder: holds back the bytes of an unfinished UTF-8 character.
#include "models/tokenizer/stream_decoder.h"

#include <span>

#include "models/tokenizer/unicode.h"

namespace llmw {
namespace {

// Appends the valid characters of `bytes` to *out, each maximal invalid subpart as one U+FFFD,
// and returns how many bytes at the end form an unfinished character (when `hold_tail`).
size_t AppendValid(std::string_view bytes, bool hold_tail, std::string* out) {
  size_t i = 0;
  while (i < bytes.size()) {
    const int n = Utf8CharLength(bytes.substr(i));
    if (n > 0) {
      out->append(bytes.substr(i, n));
      i += n;
    } else if (n < 0 && hold_tail) {
      return bytes.size() - i;
    } else {
      AppendUtf8(kReplacementChar, out);
      i += Utf8InvalidPrefixLength(bytes.substr(i));
    }
  }
  return 0;
}

}  // namespace

std::string StreamDecoder::Push(int32_t id) {
  const int32_t ids[] = {id};
  return PushBytes(tokenizer_.Decode(std::span<const int32_t>(ids), render_special_));
}

std::string StreamDecoder::PushBytes(std::string_view bytes) {
  pending_.append(bytes);
  std::string out;
  const size_t held = AppendValid(pending_, /*hold_tail=*/true, &out);
  pending_.erase(0, pending_.size() - held);
  return out;
}

std::string StreamDecoder::Flush() {
  std::string out;
  AppendValid(pending_, /*hold_tail=*/false, &out);
  pending_.clear();
  return out;
}

std::string ToValidUtf8(std::string_view bytes) {
  std::string out;
  AppendValid(bytes, /*hold_tail=*/false, &out);
  return out;
}

}  // namespace llmw
