// The GPT-2 byte↦unicode map of byte-level BPE: each byte is shown as one printable code point
// (printable Latin-1 bytes as themselves, the others as U+0100 + n in byte order), so that
// token texts are valid UTF-8 even when the bytes they stand for are not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llmw {

// The code point that stands for `byte`.
char32_t ByteToUnicode(uint8_t byte);
// The byte that `cp` stands for; nullopt when `cp` stands for none.
std::optional<uint8_t> UnicodeToByte(char32_t cp);

// Appends the mapped form of every byte of `bytes` (UTF-8).
void AppendBytesAsUnicode(std::string_view bytes, std::string* out);

// Inverse of AppendBytesAsUnicode for a token text: appends the bytes its code points stand
// for. A code point outside the map (or an invalid UTF-8 byte) is copied through unchanged.
void AppendUnicodeAsBytes(std::string_view text, std::string* out);

}  // namespace llmw
