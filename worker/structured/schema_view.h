// SchemaView: the keywords of a schema that constrain, each with its JSON Pointer, possibly
// gathered from several schema objects (allOf branches, a $ref's target and the keywords beside
// the $ref), which all apply at once. Also the keyword table (annotations, supported keywords,
// refused ones), local $ref resolution and the JSON types a schema allows.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/structured/schema_json.h"

namespace llmw::structured {

// INVALID_ARGUMENT "json_schema at <pointer>: <what>" ("(root)" for the empty pointer).
absl::Status SchemaError(std::string_view pointer, std::string_view what);

struct Keyword {
  std::string name;
  const SchemaJson* value;
  std::string pointer;       // of the keyword itself
  const SchemaJson* source;  // the schema object it belongs to
};

struct SchemaView {
  std::string pointer;  // where the schema (the first object gathered) is
  std::vector<Keyword> keywords;
  bool never = false;  // the `false` schema was gathered in: nothing is valid
  int merges = 0;      // schema objects gathered in

  const Keyword* Find(std::string_view name) const;
  void Remove(std::string_view name);
  // Only a $ref: compiled as a reference to its target's rule, which allows recursion.
  bool IsPlainRef() const { return keywords.size() == 1 && keywords[0].name == "$ref"; }
};

// The constraining keywords of `schema` (an object or a boolean) at `pointer`: annotations and
// unknown keywords are left out (they do not constrain), refused keywords are an error.
absl::StatusOr<SchemaView> ViewOf(const SchemaJson& schema, std::string pointer);

// Both views' keywords, which must both hold. Keywords in both are combined where that is exact
// (type, required, enum, the bounds) and refused otherwise. New values live in `arena`.
absl::StatusOr<SchemaView> Merge(SchemaView a, const SchemaView& b, std::deque<SchemaJson>& arena);

// The schema a local $ref (`#`, `#/$defs/name`, any JSON Pointer fragment) points at, and its
// canonical pointer; `at` is the $ref keyword's pointer, for errors.
absl::StatusOr<std::pair<const SchemaJson*, std::string>> ResolveRef(const SchemaJson& root,
                                                                     const SchemaJson& ref,
                                                                     std::string_view at);

// JSON types as bits; "number" is integers and the rest.
enum TypeBits : uint8_t {
  kNullType = 1,
  kBooleanType = 2,
  kObjectType = 4,
  kArrayType = 8,
  kStringType = 16,
  kIntegerType = 32,
  kFractionType = 64,  // numbers that are not integers
  kNumberType = kIntegerType | kFractionType,
  kAllTypes = 127,
};
// The types `view` lets values have: its "type", else those its type-specific keywords imply
// (a narrowing: `{"minimum": 0}` generates numbers only), else all.
absl::StatusOr<uint8_t> AllowedTypes(const SchemaView& view);
// The type of a JSON value (1 and 1.0 are integers, as in JSON Schema).
uint8_t TypeOf(const SchemaJson& value);

}  // namespace llmw::structured
