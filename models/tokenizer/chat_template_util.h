// Helpers shared by the chat template families: a canonical form of template
// text to look for markers in, Python's str.strip(), the errors renderers
// return.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace llmw::chat {

// `text` with the spelling differences between equivalent templates removed,
// so that markers can be matched literally: comments are dropped; inside tags
// the whitespace-control dashes go, whitespace is dropped except one space
// between two words, string literals are decoded and written with single
// quotes ("\n" escapes become newlines; a quote or backslash inside is
// escaped with a backslash), and message.role / message.content are written
// message['role'] / message['content']. Text outside tags is kept as it is.
// So {{- '<|im_start|>' + message.role + "\n" }} becomes
// {{'<|im_start|>'+message['role']+'N'}} where N is a newline character.
std::string Canonical(std::string_view text);

// The decoded text of the string literal that starts with `prefix` (quote
// included) in canonical text, e.g. LiteralStartingWith(t, "'Cutting") gives
// the whole "Cutting Knowledge Date: ...\n"; nullopt when there is none.
// `from`: the first position searched; *end, when given, is set past the
// literal.
std::optional<std::string> LiteralStartingWith(std::string_view canonical, std::string_view prefix,
                                               size_t from = 0, size_t* end = nullptr);

// How many times `marker` occurs in `text`.
size_t Occurrences(std::string_view text, std::string_view marker);

// How many role tests (message['role']==...) a canonical template makes: a
// family accepts only the count of its own templates, since one more would be
// a role rendered in a way the family does not know.
inline size_t RoleTests(std::string_view canonical) {
  return Occurrences(canonical, "message['role']==");
}

// Python's str.strip() (which Jinja's trim filter and .strip() are) on UTF-8.
std::string_view PyStrip(std::string_view s);

// The error for a conversation the template refuses with `exception_text`.
absl::Status Refused(std::string_view exception_text);

// The error for a role the template gives a rendering we do not implement.
absl::Status UnsupportedRole(std::string_view role, std::string_view family);

// Today's local date as strftime_now("%d %b %Y") writes it.
std::string LocalDate();

// Appends the concatenation of `parts` to *out.
template <typename... Parts>
void Append(std::string* out, const Parts&... parts) {
  (out->append(std::string_view(parts)), ...);
}

}  // namespace llmw::chat
