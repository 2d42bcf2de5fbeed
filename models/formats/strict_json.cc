// A SAX handler that builds the nlohmann::json tree itself, so that it can stop
// at the first repeated key or excessive depth, and keep the parser's message.
#include "models/formats/strict_json.h"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace llmw {
namespace {

using Json = nlohmann::json;

class TreeBuilder {
 public:
  Json& root() { return root_; }
  const std::string& error() const { return error_; }

  // The handler interface of nlohmann::json::sax_parse: false stops parsing.
  bool null() { return Put(nullptr); }
  bool boolean(bool v) { return Put(v); }
  bool number_integer(Json::number_integer_t v) { return Put(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return Put(v); }
  bool number_float(Json::number_float_t v, const std::string&) { return Put(v); }
  bool string(std::string& v) { return Put(std::move(v)); }
  bool binary(Json::binary_t&) { return Fail("binary values are not JSON"); }
  bool start_object(std::size_t) { return Open(Json::object()); }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool key(std::string& k) {
    if (open_.back()->contains(k)) {
      const std::string& owner = names_.back();
      return Fail(absl::StrCat("duplicate key \"", k, "\"",
                               owner.empty() ? "" : absl::StrCat(" in \"", owner, "\"")));
    }
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const Json::exception& e) {
    return Fail(absl::StrCat("not valid JSON: ", e.what()));
  }

 private:
  // Stores `v` where the parser is (the root, the next array element or the
  // value of the last key) and returns where it went.
  Json* Place(Json v) {
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json& parent = *open_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    return &(parent[key_] = std::move(v));
  }
  bool Put(Json v) {
    Place(std::move(v));
    return true;
  }
  bool Open(Json container) {
    if (open_.size() >= kMaxJsonDepth) {
      return Fail(absl::StrCat("nested deeper than ", kMaxJsonDepth, " levels"));
    }
    const bool in_object = !open_.empty() && open_.back()->is_object();
    names_.push_back(in_object ? key_ : std::string());
    open_.push_back(Place(std::move(container)));
    return true;
  }
  bool Close() {
    open_.pop_back();
    names_.pop_back();
    return true;
  }
  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  Json root_;
  // Open containers, innermost last. Each lives inside its parent, which does
  // not change while the child is open, so the pointers stay valid.
  std::vector<Json*> open_;
  std::vector<std::string> names_;  // the key each open container sits under
  std::string key_;
  std::string error_;
};

}  // namespace

absl::StatusOr<nlohmann::json> ParseStrictJsonObject(std::string_view text,
                                                     std::string_view context) {
  // nlohmann's lexer takes a NUL byte for the end of the input and would accept
  // "{}\0anything"; JSON text never holds a raw NUL.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(context), ": not valid JSON: NUL byte at offset ", nul));
  }
  TreeBuilder builder;
  const bool ok = Json::sax_parse(text.begin(), text.end(), &builder);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(context), ": ", builder.error()));
  }
  if (!builder.root().is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(context), ": not a JSON object but ", builder.root().type_name()));
  }
  return std::move(builder.root());
}

}  // namespace llmw
