// JsonSchemaToGrammar: read the schema, compile it, and check that the grammar parses.
#include "worker/structured/json_schema.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "worker/structured/grammar.h"
#include "worker/structured/schema_compiler.h"
#include "worker/structured/schema_json.h"

namespace llmw::structured {

absl::StatusOr<std::string> JsonSchemaToGrammar(std::string_view schema_json) {
  absl::StatusOr<SchemaJson> schema = ParseSchemaJson(schema_json);
  if (!schema.ok()) return schema.status();
  absl::StatusOr<std::string> text = SchemaCompiler(*schema).Run();
  if (!text.ok()) return text;
  // The notation's own limits (rules, size, repetition) apply to what the schema became.
  absl::StatusOr<std::shared_ptr<const Grammar>> grammar = ParseGrammar(*text);
  if (!grammar.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("json_schema: the schema compiles to a grammar over its limits: ",
                     grammar.status().message()));
  }
  return text;
}

}  // namespace llmw::structured
