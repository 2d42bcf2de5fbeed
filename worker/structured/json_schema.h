// JsonSchemaToGrammar: a JSON schema (Draft 2020-12; Draft 7's "definitions" too) compiled to a
// grammar in the notation of grammar.h whose strings are JSON texts valid against the schema.
//
// What is generated is a subset of the valid values, never more: a constraint the grammar cannot
// enforce is refused with INVALID_ARGUMENT, never ignored. The subset, so that a sampling model
// always finishes and the grammar stays regular enough to be fast:
//   - no whitespace before or after the value; between tokens nothing, one space, or a newline
//     and at most 16 spaces or tabs; properties in the schema's order; numbers without exponent, at most 16 integer and
//     16 fraction digits; enum and const values in their compact serialization; strings in a
//     pattern or format, and property names that must avoid the listed ones, write characters
//     one way (raw, or the short escape JSON requires);
//   - without additionalProperties, only the listed properties (any properties when none are
//     listed); after prefixItems without items, no further items unless minItems needs them;
//   - without "type", the types the keywords imply ({"minimum": 0}: numbers only);
//   - a pattern matches the whole string (validators search for it anywhere); see
//     regex_pattern.h for the subset and how \d \w \s . are narrowed;
//   - formats: date, time, date-time, uuid, email, ipv4, as patterns whose strings pass Python
//     jsonschema's FormatChecker (February has 28 days; times carry an offset);
//   - maxLength, maxItems over 10000 generate at most 10000.
// Supported: type (and lists of types), properties, required, additionalProperties (false, or a
// schema for the other names), items, prefixItems, minItems, maxItems, enum, const, anyOf,
// oneOf (when its branches are provably disjoint: by type, integer overlapping number, by enum
// values, or objects with a required property whose const/enum values differ), allOf and
// keywords beside a $ref (merged when no keyword appears twice in a way that cannot be combined),
// local $ref (recursion allowed), pattern, format, minLength, maxLength, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum (exactly for integers; for numbers, whole-number bounds),
// multipleOf 1, uniqueItems false. Annotations (title, description, default, examples, $schema,
// $id at the root, $comment, deprecated, readOnly, writeOnly, content*) and unknown keywords are
// ignored: they do not constrain. `true` and {} allow any JSON value.
// Refused: not, if/then/else, patternProperties, propertyNames, dependentRequired,
// dependentSchemas, dependencies, min/maxProperties, uniqueItems true, other multipleOf,
// contains, unevaluated*, $dynamicRef, remote and anchor $refs, enum or const beside keywords
// other than type, pattern or format beside length bounds the pattern does not already imply,
// fractional bounds on numbers, and a schema that allows nothing that can be generated (false,
// {"$ref": "#"}, a required property whose schema needs itself).
//
// Errors name the problem and where it is: line and column for text that is not JSON, else the
// JSON Pointer of the offending keyword ("json_schema at /properties/age/minimum: ...").
//
// Bounds on hostile input, besides those of schema_json.h (1 MiB of text, 128 levels of
// nesting) and regex_pattern.h (patterns): at most kMaxEnumValues values in an enum, kMaxMerges
// schema objects gathered into one by allOf and $ref, and kMaxSchemaGrammarItems items of
// grammar. Within them, compiling takes well under a second and memory proportional to the
// schema and grammar. The text is for ParseGrammar, whose own limits (grammar.h) may still
// refuse what a very large schema becomes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace llmw::structured {

inline constexpr size_t kMaxEnumValues = 10'000;
inline constexpr int kMaxMerges = 64;
inline constexpr size_t kMaxSchemaGrammarItems = 500'000;
// Lengths and counts a grammar repeats exactly (the notation's kMaxRepetition).
inline constexpr uint32_t kMaxExactCount = 10'000;

absl::StatusOr<std::string> JsonSchemaToGrammar(std::string_view schema_json);

}  // namespace llmw::structured
