// JsonSchemaToGrammar: read the schema and compile it.
#include "worker/structured/json_schema.h"

#include "worker/structured/schema_compiler.h"
#include "worker/structured/schema_json.h"

namespace llmw::structured {

absl::StatusOr<std::string> JsonSchemaToGrammar(std::string_view schema_json) {
  absl::StatusOr<SchemaJson> schema = ParseSchemaJson(schema_json);
  if (!schema.ok()) return schema.status();
  return SchemaCompiler(*schema).Run();
}

}  // namespace llmw::structured
