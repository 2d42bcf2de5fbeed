// Reading fields of the Hugging Face tokenizer JSON files with errors that name the file and the
// field ("<file>: model.vocab: ..."). nlohmann::json is used without exceptions escaping.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace llmw::hf_json {

using Json = nlohmann::json;

// The contents of `path`; NOT_FOUND when it does not exist, INTERNAL when it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Parses `text`, which must be one JSON object; INVALID_ARGUMENT quoting the parser otherwise.
absl::StatusOr<Json> ParseObject(std::string_view text, std::string_view file);

// The fields of one file. `path` arguments are the dotted path of the field ("model.vocab").
class Fields {
 public:
  explicit Fields(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  absl::Status Invalid(std::string_view path, std::string_view message) const;
  absl::Status Unsupported(std::string_view path, std::string_view message) const;

  // `object[key]`, nullptr when absent or null.
  static const Json* Find(const Json& object, std::string_view key);

  absl::StatusOr<const Json*> Object(const Json& object, std::string_view key,
                                     std::string_view path) const;  // required
  absl::StatusOr<std::string> String(const Json& object, std::string_view key,
                                     std::string_view path) const;  // required
  absl::StatusOr<std::optional<std::string>> OptionalString(const Json& object,
                                                            std::string_view key,
                                                            std::string_view path) const;
  absl::StatusOr<bool> Bool(const Json& object, std::string_view key, std::string_view path,
                            bool absent) const;
  absl::StatusOr<std::optional<bool>> OptionalBool(const Json& object, std::string_view key,
                                                   std::string_view path) const;
  // A token id: an integer in [0, 2^31).
  absl::StatusOr<int32_t> Id(const Json& value, std::string_view path) const;

 private:
  std::string file_;
};

// "a.b" from "a" and "b"; "b" from "" and "b"; "a[3]" from "a" and 3.
std::string Join(std::string_view path, std::string_view key);
std::string Join(std::string_view path, size_t index);

}  // namespace llmw::hf_json
