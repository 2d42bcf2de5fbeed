// Unicode helpers for the tokenizers: UTF-8 decoding and encoding, and the code point
// classes that the pre-tokenizer patterns use (\p{L}, \p{N}, \s).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llmw {

inline constexpr char32_t kReplacementChar = 0xFFFD;
inline constexpr char32_t kInvalidCodePoint = 0xFFFFFFFF;

// Appends the UTF-8 encoding of `cp` (at most U+10FFFF; surrogates are encoded as they are).
void AppendUtf8(char32_t cp, std::string* out);

// Decodes the character at the start of non-empty `s` the way the reference tokenizer reads its
// input: the lead byte gives the length and the continuation bytes must be 10xxxxxx, nothing
// more (overlong forms and surrogates decode). Sets *len and returns the code point, or sets
// *len = 1 and returns kInvalidCodePoint for a stray, truncated or out-of-range sequence.
char32_t DecodeUtf8Lenient(std::string_view s, size_t* len);

// Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF). Returns the length of the
// valid character at the start of non-empty `s`; 0 when s[0] starts no valid character whatever
// follows; -1 when `s` is a proper prefix of a valid character (more bytes may complete it).
int Utf8CharLength(std::string_view s);

// For non-empty `s` that does not start with a valid character: how many bytes one U+FFFD stands
// for, the "maximal subpart" of Unicode's recommended practice (as Python's and transformers'
// decoders do): a lead byte with the continuation bytes that fit it (a truncated character), or
// else one byte.
int Utf8InvalidPrefixLength(std::string_view s);

// Rewrites `text` for encoding: every byte that DecodeUtf8Lenient rejects becomes U+FFFD and
// every decoded character is encoded in its shortest form. Returns false, leaving *out alone,
// when `text` is already strictly valid (nothing to rewrite).
bool CleanUtf8ForEncoding(std::string_view text, std::string* out);

// Code point classes of the pre-tokenizer patterns.
bool IsLetter(char32_t cp);      // \p{L}: general category L*
bool IsNumber(char32_t cp);      // \p{N}: general category N*
bool IsWhitespace(char32_t cp);  // \s: the Unicode White_Space property

}  // namespace llmw
