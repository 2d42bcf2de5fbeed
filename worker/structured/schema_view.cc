// The keyword table, gathering keywords from several schema objects, $ref resolution and types.
#include "worker/structured/schema_view.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace llmw::structured {
namespace {

// Keywords that only annotate (or hold subschemas for $ref): left out of views.
constexpr std::string_view kAnnotations[] = {
    "title",          "description", "examples",        "default",          "$schema",
    "$comment",       "deprecated",  "readOnly",        "writeOnly",        "$anchor",
    "$dynamicAnchor", "$vocabulary", "contentEncoding", "contentMediaType", "contentSchema",
    "$defs",          "definitions"};

constexpr std::string_view kSupported[] = {"type",
                                           "enum",
                                           "const",
                                           "$ref",
                                           "allOf",
                                           "anyOf",
                                           "oneOf",
                                           "properties",
                                           "required",
                                           "additionalProperties",
                                           "items",
                                           "prefixItems",
                                           "minItems",
                                           "maxItems",
                                           "minLength",
                                           "maxLength",
                                           "pattern",
                                           "format",
                                           "minimum",
                                           "maximum",
                                           "exclusiveMinimum",
                                           "exclusiveMaximum",
                                           "multipleOf"};

struct Refusal {
  std::string_view keyword;
  std::string_view why;
};
constexpr Refusal kRefused[] = {
    {"not", "'not' is not supported"},
    {"if", "if/then/else is not supported"},
    {"then", "if/then/else is not supported"},
    {"else", "if/then/else is not supported"},
    {"patternProperties", "'patternProperties' is not supported; list the properties"},
    {"propertyNames", "'propertyNames' is not supported"},
    {"dependentRequired", "'dependentRequired' is not supported"},
    {"dependentSchemas", "'dependentSchemas' is not supported"},
    {"dependencies", "'dependencies' is not supported"},
    {"minProperties", "'minProperties' is not supported; use 'required'"},
    {"maxProperties", "'maxProperties' is not supported"},
    {"contains", "'contains' is not supported"},
    {"minContains", "'minContains' is not supported"},
    {"maxContains", "'maxContains' is not supported"},
    {"unevaluatedItems", "'unevaluatedItems' is not supported"},
    {"unevaluatedProperties", "'unevaluatedProperties' is not supported; use additionalProperties"},
    {"$dynamicRef", "'$dynamicRef' is not supported; use $ref"},
    {"$recursiveRef", "'$recursiveRef' is not supported; use $ref"},
    {"$recursiveAnchor", "'$recursiveAnchor' is not supported"},
    {"additionalItems", "'additionalItems' is not supported; use prefixItems and items"},
};

template <size_t N>
bool In(const std::string_view (&list)[N], std::string_view name) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

bool IsLowerBound(std::string_view name) {
  return name == "minLength" || name == "minItems" || name == "minimum" ||
         name == "exclusiveMinimum";
}
bool IsUpperBound(std::string_view name) {
  return name == "maxLength" || name == "maxItems" || name == "maximum" ||
         name == "exclusiveMaximum";
}

absl::StatusOr<uint8_t> TypeBitsOf(const Keyword& type) {
  auto one = [&](const SchemaJson& name) -> absl::StatusOr<uint8_t> {
    if (name.is_string()) {
      const std::string& s = name.get_ref<const std::string&>();
      if (s == "null") return kNullType;
      if (s == "boolean") return kBooleanType;
      if (s == "object") return kObjectType;
      if (s == "array") return kArrayType;
      if (s == "string") return kStringType;
      if (s == "integer") return kIntegerType;
      if (s == "number") return kNumberType;
    }
    return SchemaError(type.pointer, absl::StrCat("unknown type ", name.dump()));
  };
  if (!type.value->is_array()) return one(*type.value);
  uint8_t bits = 0;
  for (const SchemaJson& name : *type.value) {
    absl::StatusOr<uint8_t> b = one(name);
    if (!b.ok()) return b.status();
    bits |= *b;
  }
  return bits;
}

SchemaJson TypeNames(uint8_t bits) {
  SchemaJson names = SchemaJson::array();
  if (bits & kNullType) names.push_back("null");
  if (bits & kBooleanType) names.push_back("boolean");
  if (bits & kObjectType) names.push_back("object");
  if (bits & kArrayType) names.push_back("array");
  if (bits & kStringType) names.push_back("string");
  if ((bits & kNumberType) == kNumberType) {
    names.push_back("number");
  } else if (bits & kIntegerType) {
    names.push_back("integer");
  }
  return names;
}

// Combines two values of keyword `kept->name`, both of which apply; false when that is not exact.
absl::StatusOr<bool> Combine(Keyword* kept, const Keyword& other, std::deque<SchemaJson>& arena,
                             bool* never) {
  const std::string& name = kept->name;
  if (name == "type") {
    absl::StatusOr<uint8_t> a = TypeBitsOf(*kept);
    if (!a.ok()) return a.status();
    absl::StatusOr<uint8_t> b = TypeBitsOf(other);
    if (!b.ok()) return b.status();
    kept->value = &arena.emplace_back(TypeNames(*a & *b));
    return true;
  }
  if (name == "required" && kept->value->is_array() && other.value->is_array()) {
    SchemaJson all = *kept->value;
    for (const SchemaJson& r : *other.value) {
      if (std::find(all.begin(), all.end(), r) == all.end()) all.push_back(r);
    }
    kept->value = &arena.emplace_back(std::move(all));
    return true;
  }
  if (name == "enum" && kept->value->is_array() && other.value->is_array()) {
    SchemaJson both = SchemaJson::array();
    for (const SchemaJson& v : *kept->value) {
      if (std::find(other.value->begin(), other.value->end(), v) != other.value->end()) {
        both.push_back(v);
      }
    }
    kept->value = &arena.emplace_back(std::move(both));
    return true;
  }
  if (name == "const") {
    *never = true;  // two different constants
    return true;
  }
  const bool lower = IsLowerBound(name), upper = IsUpperBound(name);
  if ((lower || upper) && kept->value->is_number() && other.value->is_number()) {
    const double a = kept->value->get<double>(), b = other.value->get<double>();
    if (lower ? b > a : b < a) *kept = other;
    return true;
  }
  return false;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::Status SchemaError(std::string_view pointer, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("json_schema at ",
                                                 pointer.empty() ? "(root)" : std::string(pointer),
                                                 ": ", std::string(what)));
}

const Keyword* SchemaView::Find(std::string_view name) const {
  for (const Keyword& k : keywords) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

void SchemaView::Remove(std::string_view name) {
  keywords.erase(std::remove_if(keywords.begin(), keywords.end(),
                                [&](const Keyword& k) { return k.name == name; }),
                 keywords.end());
}

absl::StatusOr<SchemaView> ViewOf(const SchemaJson& schema, std::string pointer) {
  SchemaView view;
  view.pointer = pointer;
  if (schema.is_boolean()) {
    view.never = !schema.get<bool>();
    return view;
  }
  if (!schema.is_object()) return SchemaError(pointer, "a schema must be an object or a boolean");
  for (const auto& [name, value] : schema.items()) {
    const std::string at = ChildPointer(pointer, name);
    if (In(kAnnotations, name)) continue;
    if (name == "$id") {
      if (!pointer.empty()) return SchemaError(at, "'$id' below the root is not supported");
      continue;
    }
    if (name == "uniqueItems") {
      if (!value.is_boolean()) return SchemaError(at, "must be a boolean");
      if (value.get<bool>()) {
        return SchemaError(at,
                           "'uniqueItems': true is not supported (a grammar cannot keep "
                           "items distinct)");
      }
      continue;
    }
    for (const Refusal& r : kRefused) {
      if (r.keyword == name) return SchemaError(at, r.why);
    }
    // Keywords this compiler does not know are annotations to JSON Schema too.
    if (!In(kSupported, name)) continue;
    view.keywords.push_back({name, &value, at, &schema});
  }
  return view;
}

absl::StatusOr<SchemaView> Merge(SchemaView a, const SchemaView& b, std::deque<SchemaJson>& arena) {
  a.never = a.never || b.never;
  a.merges += b.merges + 1;
  for (const Keyword& k : b.keywords) {
    auto kept = std::find_if(a.keywords.begin(), a.keywords.end(),
                             [&](const Keyword& e) { return e.name == k.name; });
    if (kept == a.keywords.end()) {
      a.keywords.push_back(k);
      continue;
    }
    if (*kept->value == *k.value) continue;
    absl::StatusOr<bool> combined = Combine(&*kept, k, arena, &a.never);
    if (!combined.ok()) return combined.status();
    if (!*combined) {
      return SchemaError(k.pointer, absl::StrCat("cannot be combined with '", k.name, "' at ",
                                                 kept->pointer.empty() ? "(root)" : kept->pointer,
                                                 " (allOf, or keywords beside a $ref)"));
    }
  }
  // additionalProperties applies to the properties its own schema object lists, and items to
  // what follows its own prefixItems: from different objects they mean something else.
  const std::pair<const char*, const char*> pairs[] = {{"additionalProperties", "properties"},
                                                       {"items", "prefixItems"}};
  for (const auto& [rest, listed] : pairs) {
    const Keyword* r = a.Find(rest);
    const Keyword* l = a.Find(listed);
    if (r != nullptr && l != nullptr && r->source != l->source) {
      return SchemaError(r->pointer, absl::StrCat("cannot be combined with '", listed, "' at ",
                                                  l->pointer, " from another schema object"));
    }
  }
  return a;
}

absl::StatusOr<std::pair<const SchemaJson*, std::string>> ResolveRef(const SchemaJson& root,
                                                                     const SchemaJson& ref,
                                                                     std::string_view at) {
  if (!ref.is_string()) return SchemaError(at, "must be a string");
  const std::string& text = ref.get_ref<const std::string&>();
  if (text.empty() || text[0] != '#') {
    return SchemaError(
        at, absl::StrCat("only local references (\"#...\") are supported, not \"", text, "\""));
  }
  std::string fragment;
  for (size_t i = 1; i < text.size(); ++i) {
    if (text[i] != '%') {
      fragment.push_back(text[i]);
      continue;
    }
    const int hi = i + 2 < text.size() ? HexDigit(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? HexDigit(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) return SchemaError(at, "bad percent-escape in the reference");
    fragment.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (fragment.empty()) return std::make_pair(&root, std::string());
  if (fragment[0] != '/') {
    return SchemaError(at,
                       "anchor references are not supported; use a JSON Pointer such as "
                       "\"#/$defs/name\"");
  }
  const SchemaJson* node = &root;
  std::string pointer;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(fragment).substr(1), '/')) {
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        token.push_back(raw[i]);
      } else if (i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token.push_back(raw[++i] == '0' ? '~' : '/');
      } else {
        return SchemaError(at, "bad '~' escape in the reference");
      }
    }
    const SchemaJson* next = nullptr;
    if (node->is_object()) {
      auto it = node->find(token);
      if (it != node->end()) next = &*it;
    } else if (node->is_array() && !token.empty() &&
               token.find_first_not_of("0123456789") == std::string::npos &&
               (token == "0" || token[0] != '0') && token.size() < 10 &&
               std::stoul(token) < node->size()) {
      next = &(*node)[std::stoul(token)];
    }
    if (next == nullptr) return SchemaError(at, absl::StrCat("\"", text, "\" points at nothing"));
    node = next;
    pointer = ChildPointer(pointer, token);
  }
  return std::make_pair(node, pointer);
}

absl::StatusOr<uint8_t> AllowedTypes(const SchemaView& view) {
  if (const Keyword* type = view.Find("type")) return TypeBitsOf(*type);
  static constexpr std::pair<std::string_view, uint8_t> kImplied[] = {
      {"properties", kObjectType},
      {"required", kObjectType},
      {"additionalProperties", kObjectType},
      {"items", kArrayType},
      {"prefixItems", kArrayType},
      {"minItems", kArrayType},
      {"maxItems", kArrayType},
      {"minLength", kStringType},
      {"maxLength", kStringType},
      {"pattern", kStringType},
      {"format", kStringType},
      {"minimum", kNumberType},
      {"maximum", kNumberType},
      {"exclusiveMinimum", kNumberType},
      {"exclusiveMaximum", kNumberType},
      {"multipleOf", kNumberType}};
  uint8_t bits = 0;
  for (const auto& [name, type] : kImplied) {
    if (view.Find(name) != nullptr) bits |= type;
  }
  return bits == 0 ? static_cast<uint8_t>(kAllTypes) : bits;
}

uint8_t TypeOf(const SchemaJson& value) {
  switch (value.type()) {
    case SchemaJson::value_t::null:
      return kNullType;
    case SchemaJson::value_t::boolean:
      return kBooleanType;
    case SchemaJson::value_t::object:
      return kObjectType;
    case SchemaJson::value_t::array:
      return kArrayType;
    case SchemaJson::value_t::string:
      return kStringType;
    case SchemaJson::value_t::number_float: {
      const double d = value.get<double>();
      return std::isfinite(d) && std::floor(d) == d ? kIntegerType : kFractionType;
    }
    default:
      return kIntegerType;
  }
}

}  // namespace llmw::structured
