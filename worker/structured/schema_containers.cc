// Objects (properties in the schema's order, any subset of the optional ones, other names after
// them) and arrays (prefixItems, then items, within minItems..maxItems).
#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "worker/structured/json_schema.h"
#include "worker/structured/regex_pattern.h"
#include "worker/structured/schema_compiler.h"
#include "worker/structured/string_set.h"

namespace llmw::structured {
namespace {

GrammarItem Ws() { return GrammarItem::Named("json-ws"); }

// ws "," ws
GrammarSequence Separator() { return {Ws(), GrammarItem::Literal(","), Ws()}; }

GrammarSequence Then(GrammarSequence s, GrammarItem item) {
  s.push_back(std::move(item));
  return s;
}

}  // namespace

GrammarSequence SchemaCompiler::Member(GrammarItem key, uint32_t value_rule) {
  return {std::move(key), Ws(), GrammarItem::Literal(":"), Ws(), GrammarItem::Rule(value_rule)};
}

uint32_t SchemaCompiler::SubschemaRule(const Keyword* keyword) {
  return keyword == nullptr ? AnyValueRule() : RuleFor(*keyword->value, keyword->pointer);
}

// With members m_0..m_{n-1} in order, some optional, and maybe other names after them:
//   object ::= "{" ws "}"                  (when nothing is required)
//            | "{" ws pick_0 ws "}"
//   pick_i ::= m_i next_{i+1} | pick_{i+1}  (the second only when m_i is optional)
//   next_i ::= ws "," ws pick_i | ""        (the "" only when m_i..m_{n-1} are all optional)
// so exactly the subsets with every required member, comma-separated, can be written.
absl::Status SchemaCompiler::CompileObject(uint32_t rule, const SchemaView& view) {
  const Keyword* properties = view.Find("properties");
  const Keyword* required = view.Find("required");
  const Keyword* additional = view.Find("additionalProperties");
  if (properties != nullptr && !properties->value->is_object()) {
    return SchemaError(properties->pointer, "must be an object");
  }
  std::vector<std::string> required_names;
  if (required != nullptr) {
    if (!required->value->is_array()) return SchemaError(required->pointer, "must be an array");
    for (const SchemaJson& name : *required->value) {
      if (!name.is_string()) return SchemaError(required->pointer, "must hold strings");
      required_names.push_back(name.get<std::string>());
    }
  }
  struct Listed {
    std::string name;
    uint32_t value;
    bool required;
  };
  std::vector<Listed> listed;
  auto is_required = [&](const std::string& name) {
    return std::find(required_names.begin(), required_names.end(), name) != required_names.end();
  };
  if (properties != nullptr) {
    for (const auto& [name, schema] : properties->value->items()) {
      listed.push_back(
          {name, RuleFor(schema, ChildPointer(properties->pointer, name)), is_required(name)});
    }
  }
  const bool additional_false =
      additional != nullptr && additional->value->is_boolean() && !additional->value->get<bool>();
  for (const std::string& name : required_names) {
    const bool present =
        std::any_of(listed.begin(), listed.end(), [&](const Listed& l) { return l.name == name; });
    if (present) continue;
    if (additional_false) {
      Empty(required->pointer,
            absl::StrCat("required \"", name, "\" is not allowed by additionalProperties: false"));
    }
    listed.push_back({name, SubschemaRule(additional), true});
  }
  // Other names: those additionalProperties allows; without it, any when no property is listed
  // (narrowing: none when some are).
  const bool others = additional != nullptr ? !additional_false : properties == nullptr;

  const size_t n = listed.size();
  std::vector<bool> required_from(n + 1, false);
  for (size_t i = n; i-- > 0;) required_from[i] = required_from[i + 1] || listed[i].required;
  std::vector<uint32_t> pick(n + 1), next(n + 1);
  for (size_t i = 0; i <= n; ++i) {
    pick[i] = builder_.NewRule("pick");
    next[i] = builder_.NewRule("next");
  }
  if (others) {
    std::vector<std::string> names;
    for (const Listed& l : listed) names.push_back(l.name);
    const GrammarItem key = names.empty()
                                ? GrammarItem::Named("json-string")
                                : GrammarItem::Rule(JsonStringExcept(builder_, chars_, names));
    const uint32_t other = builder_.NewRule("other");
    builder_.Add(other, Member(key, SubschemaRule(additional)));
    const uint32_t more = builder_.NewRule("more");
    builder_.Add(more, Then(Separator(), GrammarItem::Rule(other)));
    builder_.Add(next[n], {GrammarItem::Rule(more).Repeat(0, kUnboundedRepeat)});
    builder_.Add(pick[n], {GrammarItem::Rule(other), GrammarItem::Rule(next[n])});
  } else {
    builder_.Add(next[n], {});
  }
  for (size_t i = 0; i < n; ++i) {
    builder_.Add(next[i], Then(Separator(), GrammarItem::Rule(pick[i])));
    if (!required_from[i]) builder_.Add(next[i], {});
    GrammarItem key =
        GrammarItem::Literal(SchemaJson(listed[i].name)
                                 .dump(-1, ' ', false, nlohmann::detail::error_handler_t::replace));
    builder_.Add(pick[i],
                 Then(Member(std::move(key), listed[i].value), GrammarItem::Rule(next[i + 1])));
    if (!listed[i].required && (i + 1 < n || others)) {
      builder_.Add(pick[i], {GrammarItem::Rule(pick[i + 1])});
    }
  }
  if (!required_from[0]) {
    builder_.Add(rule, {GrammarItem::Literal("{"), Ws(), GrammarItem::Literal("}")});
  }
  if (n > 0 || others) {
    builder_.Add(rule, {GrammarItem::Literal("{"), Ws(), GrammarItem::Rule(pick[0]), Ws(),
                        GrammarItem::Literal("}")});
  }
  return absl::OkStatus();
}

// Elements e_0.. (prefixItems, then items), count within minItems..maxItems:
//   array   ::= "[" ws "]"                    (when minItems is 0)
//             | "[" ws e_0 after_1 ws "]"
//   after_i ::= ws "," ws e_i after_{i+1} | ""  (within the prefix; "" once i >= minItems)
//   after_k ::= (ws "," ws item){a,b}           (past the prefix)
absl::Status SchemaCompiler::CompileArray(uint32_t rule, const SchemaView& view) {
  const Keyword* prefix = view.Find("prefixItems");
  const Keyword* items = view.Find("items");
  if (prefix != nullptr && !prefix->value->is_array()) {
    return SchemaError(prefix->pointer, "must be an array of schemas");
  }
  if (items != nullptr && items->value->is_array()) {
    return SchemaError(items->pointer,
                       "an array of schemas here is Draft 7's tuple form; use prefixItems");
  }
  absl::StatusOr<std::optional<uint64_t>> min_items = Count(view, "minItems");
  if (!min_items.ok()) return min_items.status();
  absl::StatusOr<std::optional<uint64_t>> max_items = Count(view, "maxItems");
  if (!max_items.ok()) return max_items.status();
  const uint64_t k = prefix != nullptr ? prefix->value->size() : 0;
  const uint64_t min = min_items->value_or(0);
  // Items past the prefix: what `items` allows; without it, any when there is no prefix or
  // minItems needs them (narrowing: none otherwise).
  std::optional<uint32_t> extra;
  if (items != nullptr) {
    if (!(items->value->is_boolean() && !items->value->get<bool>())) extra = SubschemaRule(items);
  } else if (k == 0 || min > k) {
    extra = AnyValueRule();
  }
  uint64_t max = max_items->value_or(kUnboundedLength);
  if (!extra) max = std::min(max, k);
  if (min > max) {
    Empty(view.pointer, "minItems exceeds what maxItems, prefixItems and items allow");
    return absl::OkStatus();
  }
  if (min > kMaxExactCount) {
    return SchemaError(view.Find("minItems")->pointer,
                       absl::StrCat("minItems over ", kMaxExactCount, " is not supported"));
  }
  if (max != kUnboundedLength) max = std::min<uint64_t>(max, kMaxExactCount);
  if (min == 0) builder_.Add(rule, {GrammarItem::Literal("["), Ws(), GrammarItem::Literal("]")});
  if (max == 0) return absl::OkStatus();

  const uint64_t used_prefix = std::min(k, max);
  std::vector<uint32_t> element;
  for (uint64_t i = 0; i < used_prefix; ++i) {
    const SchemaJson& schema = (*prefix->value)[i];
    element.push_back(RuleFor(schema, ChildPointer(prefix->pointer, std::to_string(i))));
  }
  const uint64_t last = std::max<uint64_t>(used_prefix, 1);  // after_last is the tail
  std::vector<uint32_t> after(last + 1);
  for (uint64_t i = 1; i <= last; ++i) after[i] = builder_.NewRule("after");
  for (uint64_t i = 1; i < last; ++i) {
    GrammarSequence s = Then(Separator(), GrammarItem::Rule(element[i]));
    builder_.Add(after[i], Then(std::move(s), GrammarItem::Rule(after[i + 1])));
    if (i >= min) builder_.Add(after[i], {});
  }
  if (extra && (max == kUnboundedLength || max > last)) {
    const uint32_t more = builder_.NewRule("more");
    builder_.Add(more, Then(Separator(), GrammarItem::Rule(*extra)));
    const auto a = static_cast<uint32_t>(min > last ? min - last : 0);
    const uint32_t b =
        max == kUnboundedLength ? kUnboundedRepeat : static_cast<uint32_t>(max - last);
    builder_.Add(after[last], {GrammarItem::Rule(more).Repeat(a, b)});
  } else {
    builder_.Add(after[last], {});
  }
  const uint32_t first = used_prefix > 0 ? element[0] : *extra;
  builder_.Add(rule, {GrammarItem::Literal("["), Ws(), GrammarItem::Rule(first),
                      GrammarItem::Rule(after[1]), Ws(), GrammarItem::Literal("]")});
  return absl::OkStatus();
}

}  // namespace llmw::structured
