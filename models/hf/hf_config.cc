// Reads config.json values with precise errors.
#include "models/hf/hf_config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace llmw {

absl::StatusOr<HfConfig> HfConfig::Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json parsed = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded())
    return absl::InvalidArgumentError(absl::StrCat(path, ": not valid JSON"));
  return FromJson(parsed, path);
}

absl::StatusOr<HfConfig> HfConfig::FromJson(const nlohmann::json& object, std::string source) {
  if (!object.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": expected a JSON object"));
  }
  return HfConfig(std::make_shared<const nlohmann::json>(object), std::move(source));
}

const nlohmann::json* HfConfig::Find(std::string_view key) const {
  const auto it = object_->find(std::string(key));
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

bool HfConfig::Has(std::string_view key) const { return Find(key) != nullptr; }

absl::Status HfConfig::WrongType(std::string_view key, std::string_view expected) const {
  return absl::InvalidArgumentError(absl::StrCat(source_, ": '", std::string(key), "' must be ",
                                                 std::string(expected), ", got ",
                                                 Find(key)->dump()));
}

absl::StatusOr<int64_t> HfConfig::Int(std::string_view key) const {
  if (!Has(key)) {
    return absl::InvalidArgumentError(absl::StrCat(source_, ": missing '", std::string(key), "'"));
  }
  return IntOr(key, 0);
}

absl::StatusOr<int64_t> HfConfig::IntOr(std::string_view key, int64_t fallback) const {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return fallback;
  if (!v->is_number_integer()) return WrongType(key, "an integer");
  return v->get<int64_t>();
}

absl::StatusOr<double> HfConfig::FloatOr(std::string_view key, double fallback) const {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) return WrongType(key, "a number");
  return v->get<double>();
}

absl::StatusOr<bool> HfConfig::BoolOr(std::string_view key, bool fallback) const {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) return WrongType(key, "true or false");
  return v->get<bool>();
}

absl::StatusOr<std::string> HfConfig::StringOr(std::string_view key, std::string fallback) const {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return fallback;
  if (!v->is_string()) return WrongType(key, "a string");
  return v->get<std::string>();
}

absl::StatusOr<std::vector<std::string>> HfConfig::StringListOr(std::string_view key) const {
  const nlohmann::json* v = Find(key);
  std::vector<std::string> list;
  if (v == nullptr) return list;
  if (!v->is_array()) return WrongType(key, "a list of strings");
  for (const nlohmann::json& item : *v) {
    if (!item.is_string()) return WrongType(key, "a list of strings");
    list.push_back(item.get<std::string>());
  }
  return list;
}

absl::StatusOr<std::optional<HfConfig>> HfConfig::ObjectOr(std::string_view key) const {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) return WrongType(key, "an object");
  return HfConfig(std::make_shared<const nlohmann::json>(*v),
                  absl::StrCat(source_, source_.find(": ") == std::string::npos ? ": " : ".",
                               std::string(key)));
}

}  // namespace llmw
