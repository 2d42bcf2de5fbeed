// SchemaCompiler: the work behind JsonSchemaToGrammar. Each schema location gets one rule,
// compiled from a queue (so recursion through $ref is a recursive rule and deep schemas do not
// recurse in C++); each rule's alternatives are built by the keyword groups: combinators and
// enum/const here (schema_compiler.cc), scalars (schema_scalars.cc), objects and arrays
// (schema_containers.cc).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "worker/structured/grammar_builder.h"
#include "worker/structured/json_string.h"
#include "worker/structured/schema_json.h"
#include "worker/structured/schema_view.h"

namespace llmw::structured {

class SchemaCompiler {
 public:
  explicit SchemaCompiler(const SchemaJson& root) : root_(root), chars_(builder_) {}

  // The grammar text (with kJsonBoundedRules), not yet parsed.
  absl::StatusOr<std::string> Run();

 private:
  struct Pending {
    uint32_t rule;
    const SchemaJson* schema;
    std::string pointer;
  };

  // The rule of the schema at `pointer`; its alternatives are added when the queue reaches it.
  uint32_t RuleFor(const SchemaJson& schema, const std::string& pointer);
  absl::Status CompileSchema(const Pending& pending);
  // `view` with allOf and $ref (unless the $ref is all there is) gathered in.
  absl::StatusOr<SchemaView> Expand(SchemaView view);
  absl::Status CompileView(uint32_t rule, const SchemaView& view);
  absl::Status CompileCombinator(uint32_t rule, const SchemaView& view, const Keyword& combinator);
  absl::Status CheckDisjoint(const Keyword& one_of, const std::vector<SchemaView>& branches);
  absl::Status CompileValues(uint32_t rule, const SchemaView& view);
  absl::Status CompileTypes(uint32_t rule, const SchemaView& view);

  // schema_scalars.cc
  absl::Status CompileString(uint32_t rule, const SchemaView& view);
  absl::Status CompileNumber(uint32_t rule, const SchemaView& view, bool integers_only);
  absl::Status CompileIntegers(uint32_t rule, const SchemaView& view);

  // schema_containers.cc
  absl::Status CompileObject(uint32_t rule, const SchemaView& view);
  absl::Status CompileArray(uint32_t rule, const SchemaView& view);
  // "key" ws ":" ws value
  GrammarSequence Member(GrammarItem key, uint32_t value_rule);
  // A subschema's rule, or `true`'s when the keyword is absent.
  uint32_t SubschemaRule(const Keyword* keyword);

  // Records why a schema allows nothing, for the error if the root ends up allowing nothing.
  void Empty(std::string_view pointer, std::string_view why);
  // A count keyword (minLength, maxItems, ...): a non-negative whole number, or absent.
  absl::StatusOr<std::optional<uint64_t>> Count(const SchemaView& view, std::string_view name);
  uint32_t AnyValueRule();

  const SchemaJson& root_;
  GrammarBuilder builder_;
  JsonCharItems chars_;
  absl::flat_hash_map<std::string, uint32_t> rule_of_pointer_;
  std::deque<Pending> queue_;
  std::deque<SchemaJson> arena_;                                    // values made by merging views
  std::map<std::pair<uint64_t, uint64_t>, uint32_t> string_rules_;  // by length bounds
  uint32_t any_value_rule_ = UINT32_MAX;
  std::string empty_reason_;
};

}  // namespace llmw::structured
