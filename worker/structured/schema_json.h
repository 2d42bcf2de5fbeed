// Reading a JSON-schema document: the JSON text to a tree that keeps each object's key order
// (the compiler generates properties in the schema's order), with errors that give the line and
// column of the problem.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace llmw::structured {

using SchemaJson = nlohmann::ordered_json;

inline constexpr size_t kMaxSchemaBytes = 1 << 20;
// Arrays and objects nested in one another.
inline constexpr int kMaxSchemaNesting = 128;

// INVALID_ARGUMENT "json_schema: <problem> at line L, column C" when `text` is not JSON or is
// over kMaxSchemaBytes; "json_schema at <JSON Pointer>: <problem>" when it nests deeper than
// kMaxSchemaNesting, repeats a key in an object, or holds an integer beyond 64 bits (which would
// not read back as the same number).
absl::StatusOr<SchemaJson> ParseSchemaJson(std::string_view text);

// JSON Pointer `pointer` with `token` appended, escaped (~0 for ~, ~1 for /).
std::string ChildPointer(std::string_view pointer, std::string_view token);

}  // namespace llmw::structured
