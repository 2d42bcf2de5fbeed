// Typed reads of a Hugging Face `config.json` (or one of its nested objects,
// such as `rope_parameters`), with errors that name the file and the key.
// A key that is absent or null takes the caller's default.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace llmw {

class HfConfig {
 public:
  // Parses `path`, which must hold a JSON object.
  static absl::StatusOr<HfConfig> Read(const std::string& path);
  // Wraps `object` (a JSON object) read from `source`.
  static absl::StatusOr<HfConfig> FromJson(const nlohmann::json& object, std::string source);

  bool Has(std::string_view key) const;  // present and not null
  absl::StatusOr<int64_t> Int(std::string_view key) const;
  absl::StatusOr<int64_t> IntOr(std::string_view key, int64_t fallback) const;
  absl::StatusOr<double> FloatOr(std::string_view key, double fallback) const;
  absl::StatusOr<bool> BoolOr(std::string_view key, bool fallback) const;
  absl::StatusOr<std::string> StringOr(std::string_view key, std::string fallback) const;
  absl::StatusOr<std::vector<std::string>> StringListOr(std::string_view key) const;
  // The nested object `key`; nullopt when absent or null.
  absl::StatusOr<std::optional<HfConfig>> ObjectOr(std::string_view key) const;

  // "<file>" or "<file>: <key>.<key>" for nested objects; starts error messages.
  const std::string& source() const { return source_; }

 private:
  HfConfig(std::shared_ptr<const nlohmann::json> object, std::string source)
      : object_(std::move(object)), source_(std::move(source)) {}
  // The value of `key`, or nullptr when absent or null.
  const nlohmann::json* Find(std::string_view key) const;
  absl::Status WrongType(std::string_view key, std::string_view expected) const;

  std::shared_ptr<const nlohmann::json> object_;
  std::string source_;
};

}  // namespace llmw
