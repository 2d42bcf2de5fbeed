// JSON file reading and typed field access with file- and field-naming errors.
#include "models/tokenizer/hf_json.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace llmw::hf_json {
namespace {

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// A SAX handler that keeps only the parser's error message (the tree is built separately).
struct ErrorCatcher {
  std::string message;
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(Json::number_integer_t) { return true; }
  bool number_unsigned(Json::number_unsigned_t) { return true; }
  bool number_float(Json::number_float_t, const std::string&) { return true; }
  bool string(std::string&) { return true; }
  bool binary(Json::binary_t&) { return true; }
  bool start_object(std::size_t) { return true; }
  bool end_object() { return true; }
  bool start_array(std::size_t) { return true; }
  bool end_array() { return true; }
  bool key(std::string&) { return true; }
  bool parse_error(std::size_t, const std::string&, const Json::exception& e) {
    message = e.what();
    return false;
  }
};

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in.good() && !in.eof()) return absl::InternalError(absl::StrCat(path, ": cannot read"));
  return ss.str();
}

absl::StatusOr<Json> ParseObject(std::string_view text, std::string_view file) {
  Json json = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    ErrorCatcher catcher;
    Json::sax_parse(text.begin(), text.end(), &catcher);
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(file), ": not valid JSON: ", catcher.message));
  }
  if (!json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(file), ": not a JSON object but ", json.type_name()));
  }
  return json;
}

absl::Status Fields::Invalid(std::string_view path, std::string_view message) const {
  return absl::InvalidArgumentError(
      absl::StrCat(file_, ": ", AbslView(path), ": ", AbslView(message)));
}

absl::Status Fields::Unsupported(std::string_view path, std::string_view message) const {
  return absl::UnimplementedError(
      absl::StrCat(file_, ": ", AbslView(path), ": ", AbslView(message)));
}

const Json* Fields::Find(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

absl::StatusOr<const Json*> Fields::Object(const Json& object, std::string_view key,
                                           std::string_view path) const {
  const Json* v = Find(object, key);
  if (v == nullptr) return Invalid(Join(path, key), "missing");
  if (!v->is_object()) {
    return Invalid(Join(path, key), absl::StrCat("expected an object, got ", v->type_name()));
  }
  return v;
}

absl::StatusOr<std::string> Fields::String(const Json& object, std::string_view key,
                                           std::string_view path) const {
  const Json* v = Find(object, key);
  if (v == nullptr) return Invalid(Join(path, key), "missing");
  if (!v->is_string()) {
    return Invalid(Join(path, key), absl::StrCat("expected a string, got ", v->type_name()));
  }
  return v->get<std::string>();
}

absl::StatusOr<std::optional<std::string>> Fields::OptionalString(const Json& object,
                                                                  std::string_view key,
                                                                  std::string_view path) const {
  if (Find(object, key) == nullptr) return std::optional<std::string>();
  absl::StatusOr<std::string> s = String(object, key, path);
  if (!s.ok()) return s.status();
  return std::optional<std::string>(*std::move(s));
}

absl::StatusOr<bool> Fields::Bool(const Json& object, std::string_view key, std::string_view path,
                                  bool absent) const {
  absl::StatusOr<std::optional<bool>> v = OptionalBool(object, key, path);
  if (!v.ok()) return v.status();
  return v->value_or(absent);
}

absl::StatusOr<std::optional<bool>> Fields::OptionalBool(const Json& object, std::string_view key,
                                                         std::string_view path) const {
  const Json* v = Find(object, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) {
    return Invalid(Join(path, key), absl::StrCat("expected true or false, got ", v->type_name()));
  }
  return std::optional<bool>(v->get<bool>());
}

absl::StatusOr<int32_t> Fields::Id(const Json& value, std::string_view path) const {
  if (!value.is_number_integer()) {
    return Invalid(path, absl::StrCat("expected a token id, got ", value.type_name()));
  }
  const int64_t id = value.get<int64_t>();
  if (id < 0 || id > std::numeric_limits<int32_t>::max()) {
    return Invalid(path, absl::StrCat("token id ", id, " is out of range"));
  }
  return static_cast<int32_t>(id);
}

std::string Join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return absl::StrCat(AbslView(path), ".", AbslView(key));
}

std::string Join(std::string_view path, size_t index) {
  return absl::StrCat(AbslView(path), "[", index, "]");
}

}  // namespace llmw::hf_json
