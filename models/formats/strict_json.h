// ParseStrictJsonObject: parses JSON text that must be a single object, refusing
// what nlohmann::json would otherwise accept quietly: a key repeated within one
// object (it keeps the last) and nesting deeper than the checkpoint formats use
// (which also bounds the memory a hostile header can make the parser spend).
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace llmw {

inline constexpr int kMaxJsonDepth = 16;

// INVALID_ARGUMENT, with `context` (e.g. "<path>: header") leading the message,
// when the text is not valid JSON, not an object, repeats a key or nests deeper
// than kMaxJsonDepth containers.
absl::StatusOr<nlohmann::json> ParseStrictJsonObject(std::string_view text,
                                                     std::string_view context);

}  // namespace llmw
