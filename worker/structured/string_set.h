// Grammar rules for finite sets of strings: exactly the strings of a set (enum and const values),
// and any JSON string except those of a set (property names besides the listed ones). Both are
// prefix trees, so a matcher follows one path however many strings there are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "worker/structured/grammar_builder.h"
#include "worker/structured/json_string.h"

namespace llmw::structured {

// Adds to `rule` alternatives matching exactly the given UTF-8 strings.
void AddStringSet(GrammarBuilder& builder, uint32_t rule, std::vector<std::string> strings);

// A rule matching a JSON string, quotes included, whose decoded text is none of `names`. Up to
// where it departs from every name, a character is written one way (JsonStringChar), so that
// no escape can spell a name.
uint32_t JsonStringExcept(GrammarBuilder& builder, JsonCharItems& chars,
                          const std::vector<std::string>& names);

}  // namespace llmw::structured
