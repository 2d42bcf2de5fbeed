// GPT-2 byte↦unicode tables, computed at compile time.
#include "models/tokenizer/byte_unicode.h"

#include <array>

#include "models/tokenizer/unicode.h"

namespace llmw {
namespace {

constexpr bool ShowsAsItself(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

constexpr std::array<char16_t, 256> MakeByteToUnicode() {
  std::array<char16_t, 256> map{};
  int next = 256;
  for (int b = 0; b < 256; ++b) map[b] = static_cast<char16_t>(ShowsAsItself(b) ? b : next++);
  return map;
}
constexpr std::array<char16_t, 256> kByteToUnicode = MakeByteToUnicode();

// Mapped code points lie below 256 + 68 (68 bytes are not shown as themselves).
constexpr size_t kMaxMapped = 256 + 68;
constexpr std::array<int16_t, kMaxMapped> MakeUnicodeToByte() {
  std::array<int16_t, kMaxMapped> inv{};
  for (auto& v : inv) v = -1;
  for (int b = 0; b < 256; ++b) inv[kByteToUnicode[b]] = static_cast<int16_t>(b);
  return inv;
}
constexpr std::array<int16_t, kMaxMapped> kUnicodeToByte = MakeUnicodeToByte();

}  // namespace

char32_t ByteToUnicode(uint8_t byte) { return kByteToUnicode[byte]; }

std::optional<uint8_t> UnicodeToByte(char32_t cp) {
  if (cp >= kMaxMapped || kUnicodeToByte[cp] < 0) return std::nullopt;
  return static_cast<uint8_t>(kUnicodeToByte[cp]);
}

void AppendBytesAsUnicode(std::string_view bytes, std::string* out) {
  for (char c : bytes) AppendUtf8(kByteToUnicode[static_cast<uint8_t>(c)], out);
}

void AppendUnicodeAsBytes(std::string_view text, std::string* out) {
  for (size_t i = 0; i < text.size();) {
    size_t len;
    const char32_t cp = DecodeUtf8Lenient(text.substr(i), &len);
    const std::optional<uint8_t> byte = cp == kInvalidCodePoint ? std::nullopt : UnicodeToByte(cp);
    if (byte) {
      out->push_back(static_cast<char>(*byte));
    } else {
      out->append(text.substr(i, len));
    }
    i += len;
  }
}

}  // namespace llmw
