// JSON (RFC 8259) in the grammar notation: any JSON value, and any JSON object, with the
// whitespace JSON allows between tokens.
#pragma once

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

}  // namespace llmw::structured
