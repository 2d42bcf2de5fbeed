// JSON (RFC 8259) in the grammar notation.
//
// kJsonValueGrammar: any JSON value, with the whitespace JSON allows between tokens.
//
// kJsonBoundedRules: JSON's pieces with bounds that keep a sampling model from writing one of
// them forever: numbers have at most 16 integer and 16 fraction digits and no exponent, and
// between two tokens stands nothing, one space, or one newline and at most 16 spaces or tabs of
// indentation (compact or pretty-printed JSON, not pages of blank lines). Grammars compiled from JSON schemas
// end with these rules (`json-` names), and kJsonObjectGrammar ("JSON mode") is built of them:
// one JSON object with nothing before or after it, so generation ends when the object closes.
// A string character is one code point: raw, or one escape (a \u escape is never a surrogate,
// so pairs, which would be two escapes for one character, are not generated).
#pragma once

#include <array>
#include <cstddef>

namespace llmw::structured {

inline constexpr char kJsonValueGrammar[] = R"GBNF(
root   ::= ws value ws
value  ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ws ( member ( "," ws member )* )? "}"
member ::= string ws ":" ws value ws
array  ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
string ::= "\"" ( [^"\\\x00-\x1f] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} ) )* "\""
number ::= "-"? ( "0" | [1-9] [0-9]* ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )?
ws     ::= [ \t\n\r]*
)GBNF";

inline constexpr char kJsonBoundedRules[] = R"GBNF(
json-value  ::= json-object | json-array | json-string | json-number | "true" | "false" | "null"
json-object ::= "{" json-ws ( json-member ( json-ws "," json-ws json-member )* json-ws )? "}"
json-member ::= json-string json-ws ":" json-ws json-value
json-array  ::= "[" json-ws ( json-value ( json-ws "," json-ws json-value )* json-ws )? "]"
json-string ::= "\"" json-char* "\""
json-char   ::= [^"\\\x00-\x1f] | "\\" ( ["\\/bfnrt] | "u" json-hex4 )
json-hex4   ::= [0-9a-cA-C] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2} | [eEfF] [0-9a-fA-F]{3}
json-number ::= "-"? json-int ( "." [0-9]{1,16} )?
json-int    ::= "0" | [1-9] [0-9]{0,15}
json-ws     ::= ( " " | "\n" [ \t]{0,16} )?
)GBNF";

namespace json_grammar_internal {
template <size_t N, size_t M>
constexpr std::array<char, N + M - 1> Concat(const char (&a)[N], const char (&b)[M]) {
  std::array<char, N + M - 1> out{};
  for (size_t i = 0; i + 1 < N; ++i) out[i] = a[i];
  for (size_t i = 0; i < M; ++i) out[N - 1 + i] = b[i];
  return out;
}
inline constexpr auto kJsonObjectText = Concat("root ::= json-object\n", kJsonBoundedRules);
}  // namespace json_grammar_internal

inline constexpr const char* kJsonObjectGrammar = json_grammar_internal::kJsonObjectText.data();

}  // namespace llmw::structured
