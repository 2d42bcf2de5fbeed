// A SAX handler that builds the ordered tree, refusing what the schema compiler cannot use.
#include "worker/structured/schema_json.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace llmw::structured {
namespace {

class TreeBuilder {
 public:
  SchemaJson& root() { return root_; }
  const std::string& error() const { return error_; }
  // Where the problem is: a byte offset for the parser's errors, else the JSON pointer of the
  // container holding it.
  bool syntax_error = false;
  size_t error_at = 0;
  std::string error_pointer;

  // The handler interface of nlohmann's sax_parse; false stops parsing.
  bool null() { return Put(nullptr); }
  bool boolean(bool v) { return Put(v); }
  bool number_integer(SchemaJson::number_integer_t v) { return Put(v); }
  bool number_unsigned(SchemaJson::number_unsigned_t v) { return Put(v); }
  bool number_float(SchemaJson::number_float_t v, const std::string& text) {
    if (text.find_first_of(".eE") == std::string::npos) {
      return Fail(absl::StrCat("integer ", text.substr(0, 40), " is beyond 64 bits"));
    }
    return Put(v);
  }
  bool string(std::string& v) { return Put(std::move(v)); }
  bool binary(SchemaJson::binary_t&) { return Fail("binary values are not JSON"); }
  bool start_object(std::size_t) { return Open(SchemaJson::object()); }
  bool start_array(std::size_t) { return Open(SchemaJson::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool key(std::string& k) {
    if (open_.back()->contains(k)) return Fail(absl::StrCat("duplicate key \"", k, "\""));
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t at, const std::string&, const nlohmann::json::exception& e) {
    syntax_error = true;
    error_at = at;
    error_ = e.what();
    return false;
  }

 private:
  SchemaJson* Place(SchemaJson v) {
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    SchemaJson& parent = *open_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    return &(parent[key_] = std::move(v));
  }
  bool Put(SchemaJson v) {
    Place(std::move(v));
    return true;
  }
  bool Open(SchemaJson container) {
    if (open_.size() >= static_cast<size_t>(kMaxSchemaNesting)) {
      return Fail(absl::StrCat("nested deeper than ", kMaxSchemaNesting, " arrays and objects"));
    }
    std::string pointer;
    if (!open_.empty()) {
      pointer = ChildPointer(
          path_.back(), open_.back()->is_array() ? std::to_string(open_.back()->size()) : key_);
    }
    open_.push_back(Place(std::move(container)));
    path_.push_back(std::move(pointer));
    return true;
  }
  bool Close() {
    open_.pop_back();
    path_.pop_back();
    return true;
  }
  bool Fail(std::string message) {
    error_ = std::move(message);
    if (!path_.empty()) error_pointer = path_.back();
    return false;
  }

  SchemaJson root_;
  // Open containers, innermost last; each lives in its parent, which does not move while open.
  std::vector<SchemaJson*> open_;
  std::string key_;
  std::string error_;
  std::vector<std::string> path_;  // the JSON Pointer of each open container
};

}  // namespace

std::string ChildPointer(std::string_view pointer, std::string_view token) {
  std::string out(pointer);
  out.push_back('/');
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<SchemaJson> ParseSchemaJson(std::string_view text) {
  if (text.size() > kMaxSchemaBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("json_schema: ", text.size(), " bytes, over the limit of ", kMaxSchemaBytes));
  }
  TreeBuilder builder;
  size_t stop = text.size();
  // nlohmann's lexer takes a NUL byte for the end of input; JSON text never holds a raw one.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) stop = nul;
  const bool ok = nlohmann::ordered_json::sax_parse(text.begin(), text.begin() + stop, &builder);
  std::string problem;
  size_t at = 0;
  if (!ok && !builder.syntax_error) {
    return absl::InvalidArgumentError(absl::StrCat(
        "json_schema at ", builder.error_pointer.empty() ? "(root)" : builder.error_pointer, ": ",
        builder.error()));
  }
  if (!ok) {
    problem = builder.error();
    at = builder.error_at;
  } else if (stop < text.size()) {
    problem = "NUL byte";
    at = stop;
  }
  if (problem.empty()) return std::move(builder.root());
  // Line and column of byte `at` (the parser counts the offending byte as read).
  if (at > 0) --at;
  int line = 1, column = 1;
  for (size_t i = 0; i < at && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("json_schema: ", problem, " at line ", line, ", column ", column));
}

}  // namespace llmw::structured
