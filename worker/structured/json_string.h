// Characters of JSON strings as grammar items: a set of code points written as the JSON text of
// one of them (between the quotes of a string), and the string formats the compiler supports,
// as patterns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "worker/structured/code_points.h"
#include "worker/structured/grammar_builder.h"

namespace llmw::structured {

// The fixed rule (in kJsonBoundedRules) for any one character of a JSON string, any escape
// included.
inline constexpr char kJsonCharRule[] = "json-char";

// The one way this compiler writes `c` inside a JSON string: raw, except the characters JSON
// must escape: \" \\ \b \f \n \r \t, and \u00XX for the other controls.
std::string JsonStringChar(uint32_t c);

// Items for one character of a set, each written as JsonStringChar does, made once per set.
class JsonCharItems {
 public:
  explicit JsonCharItems(GrammarBuilder& builder) : builder_(builder) {}

  GrammarItem Of(const CodePointSet& set);

 private:
  GrammarBuilder& builder_;
  absl::flat_hash_map<CodePointSet, uint32_t> rules_;
};

// The pattern (regex_pattern.h's subset) that generates strings of a `format`, each of which
// passes Python jsonschema's FormatChecker for Draft 2020-12; empty for formats not supported.
std::string_view FormatPattern(std::string_view format);
// The supported formats, for messages.
inline constexpr char kSupportedFormats[] = "date, time, date-time, uuid, email, ipv4";

}  // namespace llmw::structured
