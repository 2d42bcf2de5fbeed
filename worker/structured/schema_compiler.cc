// The compiler's driver: the queue of schema locations, gathering allOf and $ref, the
// combinators anyOf and oneOf, enum and const, and the dispatch by type.
#include "worker/structured/schema_compiler.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "worker/structured/json_grammar.h"
#include "worker/structured/json_schema.h"
#include "worker/structured/string_set.h"

namespace llmw::structured {
namespace {

std::string Dump(const SchemaJson& value) {
  return value.dump(-1, ' ', false, nlohmann::detail::error_handler_t::replace);
}

// The values `view` allows when it lists them (enum, const), else null.
const SchemaJson* ListedValues(const SchemaView& view, std::deque<SchemaJson>& arena) {
  const Keyword* e = view.Find("enum");
  const Keyword* c = view.Find("const");
  if (c == nullptr) return e != nullptr && e->value->is_array() ? e->value : nullptr;
  SchemaJson values = SchemaJson::array();
  const bool in_enum = e == nullptr || !e->value->is_array() ||
                       std::find(e->value->begin(), e->value->end(), *c->value) != e->value->end();
  if (in_enum) values.push_back(*c->value);
  return &arena.emplace_back(std::move(values));
}

bool SharesValue(const SchemaJson& a, const SchemaJson& b) {
  return std::any_of(a.begin(), a.end(), [&](const SchemaJson& v) {
    return std::find(b.begin(), b.end(), v) != b.end();
  });
}

}  // namespace

absl::StatusOr<std::string> SchemaCompiler::Run() {
  const uint32_t root = RuleFor(root_, "");
  while (!queue_.empty()) {
    const Pending pending = std::move(queue_.front());
    queue_.pop_front();
    if (absl::Status s = CompileSchema(pending); !s.ok()) return s;
    if (builder_.item_count() > kMaxSchemaGrammarItems) {
      return SchemaError(pending.pointer,
                         absl::StrCat("the grammar grows past ", kMaxSchemaGrammarItems,
                                      " items here; the schema is too large"));
    }
  }
  absl::StatusOr<std::string> text = builder_.Write(root, kJsonBoundedRules);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "json_schema: no value can be generated: the schema allows none, or only values that "
        "contain themselves without end",
        empty_reason_.empty() ? "" : absl::StrCat(" (", empty_reason_, ")")));
  }
  return text;
}

uint32_t SchemaCompiler::RuleFor(const SchemaJson& schema, const std::string& pointer) {
  auto [it, inserted] = rule_of_pointer_.try_emplace(pointer, 0);
  if (inserted) {
    const size_t slash = pointer.rfind('/');
    it->second =
        builder_.NewRule(slash == std::string::npos ? "schema" : pointer.substr(slash + 1));
    queue_.push_back({it->second, &schema, pointer});
  }
  return it->second;
}

absl::Status SchemaCompiler::CompileSchema(const Pending& pending) {
  absl::StatusOr<SchemaView> view = ViewOf(*pending.schema, pending.pointer);
  if (!view.ok()) return view.status();
  absl::StatusOr<SchemaView> expanded = Expand(*std::move(view));
  if (!expanded.ok()) return expanded.status();
  return CompileView(pending.rule, *expanded);
}

absl::StatusOr<SchemaView> SchemaCompiler::Expand(SchemaView view) {
  while (true) {
    if (view.merges > kMaxMerges) {
      return SchemaError(view.pointer, absl::StrCat("allOf and $ref gather more than ", kMaxMerges,
                                                    " schema objects here (a cycle?)"));
    }
    if (const Keyword* all = view.Find("allOf")) {
      const Keyword k = *all;
      view.Remove("allOf");
      if (!k.value->is_array() || k.value->empty()) {
        return SchemaError(k.pointer, "must be a non-empty array of schemas");
      }
      for (size_t i = 0; i < k.value->size(); ++i) {
        absl::StatusOr<SchemaView> branch =
            ViewOf((*k.value)[i], ChildPointer(k.pointer, std::to_string(i)));
        if (!branch.ok()) return branch.status();
        absl::StatusOr<SchemaView> merged = Merge(std::move(view), *branch, arena_);
        if (!merged.ok()) return merged.status();
        view = *std::move(merged);
      }
      continue;
    }
    const Keyword* ref = view.Find("$ref");
    if (ref != nullptr && !view.IsPlainRef()) {
      const Keyword k = *ref;
      view.Remove("$ref");
      auto target = ResolveRef(root_, *k.value, k.pointer);
      if (!target.ok()) return target.status();
      absl::StatusOr<SchemaView> referenced = ViewOf(*target->first, target->second);
      if (!referenced.ok()) return referenced.status();
      absl::StatusOr<SchemaView> merged = Merge(std::move(view), *referenced, arena_);
      if (!merged.ok()) return merged.status();
      view = *std::move(merged);
      continue;
    }
    return view;
  }
}

absl::Status SchemaCompiler::CompileView(uint32_t rule, const SchemaView& view) {
  if (builder_.item_count() > kMaxSchemaGrammarItems) {
    return SchemaError(view.pointer, absl::StrCat("the grammar grows past ", kMaxSchemaGrammarItems,
                                                  " items here; the schema is too large"));
  }
  if (view.never) {
    Empty(view.pointer, "the schema is false, or gathers a false one");
    return absl::OkStatus();
  }
  if (view.IsPlainRef()) {
    const Keyword& ref = view.keywords[0];
    auto target = ResolveRef(root_, *ref.value, ref.pointer);
    if (!target.ok()) return target.status();
    builder_.Add(rule, {GrammarItem::Rule(RuleFor(*target->first, target->second))});
    return absl::OkStatus();
  }
  const Keyword* any_of = view.Find("anyOf");
  const Keyword* one_of = view.Find("oneOf");
  if (any_of != nullptr && one_of != nullptr) {
    return SchemaError(one_of->pointer, "anyOf and oneOf in one schema are not supported");
  }
  if (any_of != nullptr || one_of != nullptr) {
    return CompileCombinator(rule, view, any_of != nullptr ? *any_of : *one_of);
  }
  if (view.Find("enum") != nullptr || view.Find("const") != nullptr) {
    return CompileValues(rule, view);
  }
  return CompileTypes(rule, view);
}

// Each branch is an alternative. Keywords beside the combinator apply to every branch: they are
// gathered into each (a new rule per branch); without them, a branch is its location's rule.
absl::Status SchemaCompiler::CompileCombinator(uint32_t rule, const SchemaView& view,
                                               const Keyword& combinator) {
  if (!combinator.value->is_array() || combinator.value->empty()) {
    return SchemaError(combinator.pointer, "must be a non-empty array of schemas");
  }
  SchemaView rest = view;
  rest.Remove(combinator.name);
  std::vector<SchemaView> branches;
  for (size_t i = 0; i < combinator.value->size(); ++i) {
    const SchemaJson& schema = (*combinator.value)[i];
    const std::string pointer = ChildPointer(combinator.pointer, std::to_string(i));
    absl::StatusOr<SchemaView> branch = ViewOf(schema, pointer);
    if (!branch.ok()) return branch.status();
    if (rest.keywords.empty()) {
      builder_.Add(rule, {GrammarItem::Rule(RuleFor(schema, pointer))});
      branch = Expand(*std::move(branch));
      if (!branch.ok()) return branch.status();
    } else {
      absl::StatusOr<SchemaView> merged = Merge(rest, *branch, arena_);
      if (!merged.ok()) return merged.status();
      branch = Expand(*std::move(merged));
      if (!branch.ok()) return branch.status();
      const uint32_t r = builder_.NewRule("branch");
      if (absl::Status s = CompileView(r, *branch); !s.ok()) return s;
      builder_.Add(rule, {GrammarItem::Rule(r)});
    }
    branches.push_back(*std::move(branch));
  }
  if (combinator.name == "oneOf") return CheckDisjoint(combinator, branches);
  return absl::OkStatus();
}

// oneOf needs exactly one branch to match; with branches that no value can match together, that
// is any one, as anyOf generates.
absl::Status SchemaCompiler::CheckDisjoint(const Keyword& one_of,
                                           const std::vector<SchemaView>& branches) {
  struct Info {
    uint8_t types = kAllTypes;
    const SchemaJson* values = nullptr;  // enum/const values, when listed
    SchemaView view;
  };
  std::vector<Info> infos;
  for (SchemaView view : branches) {
    for (int hops = 0; view.IsPlainRef() && hops <= kMaxMerges; ++hops) {
      const Keyword& ref = view.keywords[0];
      auto target = ResolveRef(root_, *ref.value, ref.pointer);
      if (!target.ok()) return target.status();
      absl::StatusOr<SchemaView> next = ViewOf(*target->first, target->second);
      if (next.ok()) next = Expand(*std::move(next));
      if (!next.ok()) return next.status();
      view = *std::move(next);
    }
    Info info;
    const bool combined = view.Find("anyOf") != nullptr || view.Find("oneOf") != nullptr;
    if (view.never) {
      info.types = 0;
    } else if (!combined || view.Find("type") != nullptr) {
      absl::StatusOr<uint8_t> types = AllowedTypes(view);
      if (!types.ok()) return types.status();
      info.types = *types;
    }
    if (!combined) info.values = ListedValues(view, arena_);
    if (info.values != nullptr) {
      uint8_t listed = 0;
      for (const SchemaJson& v : *info.values) listed |= TypeOf(v);
      info.types &= listed;
    }
    info.view = std::move(view);
    infos.push_back(std::move(info));
  }
  auto discriminated = [&](const Info& a, const Info& b) {
    if (a.types != kObjectType || b.types != kObjectType) return false;
    const Keyword* required = a.view.Find("required");
    if (required == nullptr || !required->value->is_array()) return false;
    for (const SchemaJson& name : *required->value) {
      if (!name.is_string()) continue;
      const SchemaJson* values[2] = {nullptr, nullptr};
      for (int side = 0; side < 2; ++side) {
        const SchemaView& v = side == 0 ? a.view : b.view;
        const Keyword* req = v.Find("required");
        const Keyword* props = v.Find("properties");
        if (req == nullptr || props == nullptr || !props->value->is_object() ||
            !req->value->is_array() ||
            std::find(req->value->begin(), req->value->end(), name) == req->value->end()) {
          break;
        }
        auto it = props->value->find(name.get<std::string>());
        if (it == props->value->end() || !it->is_object()) break;
        absl::StatusOr<SchemaView> property = ViewOf(*it, "");
        if (property.ok()) values[side] = ListedValues(*property, arena_);
      }
      if (values[0] != nullptr && values[1] != nullptr && !SharesValue(*values[0], *values[1])) {
        return true;
      }
    }
    return false;
  };
  for (size_t i = 0; i < infos.size(); ++i) {
    for (size_t j = i + 1; j < infos.size(); ++j) {
      const Info& a = infos[i];
      const Info& b = infos[j];
      const bool disjoint =
          (a.types & b.types) == 0 ||
          (a.values != nullptr && b.values != nullptr && !SharesValue(*a.values, *b.values)) ||
          discriminated(a, b);
      if (!disjoint) {
        return SchemaError(one_of.pointer,
                           absl::StrCat("oneOf branches may overlap; use anyOf (branches ", i,
                                        " and ", j, " could both match one value)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status SchemaCompiler::CompileValues(uint32_t rule, const SchemaView& view) {
  for (const Keyword& k : view.keywords) {
    if (k.name != "type" && k.name != "enum" && k.name != "const") {
      return SchemaError(k.pointer, "beside enum or const, only 'type' is supported");
    }
  }
  const Keyword* e = view.Find("enum");
  if (e != nullptr && !e->value->is_array()) return SchemaError(e->pointer, "must be an array");
  if (e != nullptr && e->value->size() > kMaxEnumValues) {
    return SchemaError(
        e->pointer, absl::StrCat(e->value->size(), " values, over the limit of ", kMaxEnumValues));
  }
  absl::StatusOr<uint8_t> types = AllowedTypes(view);
  if (!types.ok()) return types.status();
  std::vector<std::string> texts;
  for (const SchemaJson& value : *ListedValues(view, arena_)) {
    // An integer is a number too; 1.0 is an integer.
    if ((TypeOf(value) & *types) != 0) texts.push_back(Dump(value));
  }
  if (texts.empty()) {
    Empty(view.pointer, "no enum or const value is of an allowed type");
    return absl::OkStatus();
  }
  AddStringSet(builder_, rule, std::move(texts));
  return absl::OkStatus();
}

absl::Status SchemaCompiler::CompileTypes(uint32_t rule, const SchemaView& view) {
  if (view.keywords.empty()) {  // true, {}, or only annotations
    builder_.Add(rule, {GrammarItem::Named("json-value")});
    return absl::OkStatus();
  }
  absl::StatusOr<uint8_t> types = AllowedTypes(view);
  if (!types.ok()) return types.status();
  if (*types == 0) Empty(view.pointer, "no type is allowed");
  if (*types & kNullType) builder_.Add(rule, {GrammarItem::Literal("null")});
  if (*types & kBooleanType) {
    builder_.Add(rule, {GrammarItem::Literal("true")});
    builder_.Add(rule, {GrammarItem::Literal("false")});
  }
  absl::Status s;
  if (s.ok() && (*types & kObjectType)) s = CompileObject(rule, view);
  if (s.ok() && (*types & kArrayType)) s = CompileArray(rule, view);
  if (s.ok() && (*types & kStringType)) s = CompileString(rule, view);
  if (s.ok() && (*types & kNumberType)) {
    s = CompileNumber(rule, view, /*integers_only=*/(*types & kFractionType) == 0);
  }
  return s;
}

void SchemaCompiler::Empty(std::string_view pointer, std::string_view why) {
  if (empty_reason_.empty()) {
    empty_reason_ = absl::StrCat("at ", pointer.empty() ? "(root)" : std::string(pointer), ": ",
                                 std::string(why));
  }
}

absl::StatusOr<std::optional<uint64_t>> SchemaCompiler::Count(const SchemaView& view,
                                                              std::string_view name) {
  const Keyword* k = view.Find(name);
  if (k == nullptr) return std::optional<uint64_t>();
  const SchemaJson& v = *k->value;
  if (v.is_number_unsigned()) return std::optional<uint64_t>(v.get<uint64_t>());
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    return std::optional<uint64_t>(static_cast<uint64_t>(v.get<int64_t>()));
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d >= 0 && std::floor(d) == d) {
      return std::optional<uint64_t>(d > 1e18 ? uint64_t{1'000'000'000'000'000'000}
                                              : static_cast<uint64_t>(d));
    }
  }
  return SchemaError(k->pointer, "must be a non-negative whole number");
}

uint32_t SchemaCompiler::AnyValueRule() {
  if (any_value_rule_ == UINT32_MAX) {
    any_value_rule_ = builder_.NewRule("any");
    builder_.Add(any_value_rule_, {GrammarItem::Named("json-value")});
  }
  return any_value_rule_;
}

}  // namespace llmw::structured
