// What the JSON-schema compiler refuses, with the position it names, and how it holds up on
// hostile schemas: each is refused, or compiles, within the bounds json_schema.h states.
#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/unit/structured/schema_test_util.h"

namespace llmw::structured {
namespace {

struct Case {
  const char* schema;
  const char* message;  // a part of the refusal
};

void ExpectRefusals(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    const std::string message = Refusal(c.schema);
    EXPECT_NE(message.find(c.message), std::string::npos)
        << "schema: " << c.schema << "\nmessage: " << message << "\nexpected: " << c.message;
  }
}

TEST(JsonSchemaRefusal, NotJson) {
  ExpectRefusals({
      {"{\n  \"type\": \"string\",\n}", "json_schema: "},
      {"{\n  \"type\": \"string\",\n}", "at line 3, column 1"},
      {"{\"type\": \"string\"} x", "at line 1, column 20"},
      {"", "at line 1, column 1"},
      {"{\"a\": 1, \"a\": 2}", "json_schema at (root): duplicate key \"a\""},
      {R"({"properties": {"x": {"enum": [1, 2, 3], "enum": [4]}}})",
       "json_schema at /properties/x: duplicate key \"enum\""},
      {R"({"const": 123456789012345678901234567890})", "beyond 64 bits"},
      {"[1]", "json_schema at (root): a schema must be an object or a boolean"},
  });
}

TEST(JsonSchemaRefusal, UnsupportedKeywordsNameTheirPointer) {
  ExpectRefusals({
      {R"({"not": {"type": "string"}})", "json_schema at /not: 'not' is not supported"},
      {R"({"properties": {"a": {"if": {}, "then": {}}}})", "at /properties/a/if: if/then/else"},
      {R"({"patternProperties": {"^x": {}}})", "at /patternProperties: "},
      {R"({"propertyNames": {"maxLength": 3}})", "at /propertyNames: "},
      {R"({"dependentRequired": {"a": ["b"]}})", "at /dependentRequired: "},
      {R"({"dependentSchemas": {"a": {}}})", "at /dependentSchemas: "},
      {R"({"minProperties": 1})", "at /minProperties: "},
      {R"({"maxProperties": 1})", "at /maxProperties: "},
      {R"({"type": "array", "uniqueItems": true})", "at /uniqueItems: 'uniqueItems': true"},
      {R"({"type": "array", "contains": {"type": "integer"}})", "at /contains: "},
      {R"({"unevaluatedProperties": false})", "at /unevaluatedProperties: "},
      {R"({"type": "array", "items": [{"type": "integer"}]})",
       "at /items: an array of schemas here is Draft 7's tuple form; use prefixItems"},
      {R"({"type": "integer", "multipleOf": 3})", "at /multipleOf: multipleOf other than 1"},
      {R"({"type": "number", "multipleOf": 0.5})", "at /multipleOf: "},
      {R"({"properties": {"age": {"type": "number", "exclusiveMinimum": 0.5}}})",
       "json_schema at /properties/age/exclusiveMinimum: a bound that is not a whole number"},
      {R"({"type": "number", "minimum": 0, "exclusiveMinimum": true})",
       "at /exclusiveMinimum: Draft 4's boolean form"},
      {R"({"type": "string", "format": "uri"})", "at /format: format \"uri\" is not supported"},
      {R"({"$defs": {"a": {"$id": "x", "type": "string"}}, "$ref": "#/$defs/a"})",
       "at /$defs/a/$id: '$id' below the root"},
      {R"({"type": "strings"})", "at /type: unknown type \"strings\""},
      {R"({"type": "string", "minLength": -1})", "at /minLength: must be a non-negative whole"},
      {R"({"type": "string", "minLength": 20000})", "at /minLength: minLength over 10000"},
      {R"({"type": "string", "enum": ["a"], "maxLength": 3})",
       "at /maxLength: beside enum or const, only 'type' is supported"},
      {R"({"anyOf": [{"type": "string"}], "oneOf": [{"type": "string"}]})", "at /oneOf: anyOf"},
  });
}

TEST(JsonSchemaRefusal, References) {
  ExpectRefusals({
      {R"({"$ref": "https://example.com/s.json"})", "at /$ref: only local references"},
      {R"({"$ref": "#anchor"})", "at /$ref: anchor references are not supported"},
      {R"({"properties": {"a": {"$ref": "#/$defs/missing"}}})",
       "json_schema at /properties/a/$ref: \"#/$defs/missing\" points at nothing"},
      {R"({"$ref": "#/$defs/%zz"})", "bad percent-escape"},
      // Nothing can be generated from these.
      {R"({"$ref": "#"})", "json_schema: no value can be generated"},
      {R"({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"})",
       "no value can be generated"},
      {R"({"type": "object", "properties": {"self": {"$ref": "#"}}, "required": ["self"]})",
       "no value can be generated"},
      // Gathering a schema into itself never ends.
      {R"({"$ref": "#", "type": "object"})", "json_schema at (root): allOf and $ref gather more"},
      {R"({"allOf": [{"$ref": "#"}]})", "no value can be generated"},
      {R"({"allOf": [{"$ref": "#"}], "type": "null"})", "allOf and $ref gather more than"},
  });
}

TEST(JsonSchemaRefusal, NothingValid) {
  ExpectRefusals({
      {"false", "no value can be generated"},
      {R"({"type": "integer", "minimum": 5, "maximum": 3})", "(at (root): no integer"},
      {R"({"type": "string", "minLength": 3, "maxLength": 2})", "minLength exceeds maxLength"},
      {R"({"type": "object", "required": ["a"], "additionalProperties": false})",
       "at /required: required \"a\" is not allowed by additionalProperties: false"},
      {R"({"type": "array", "prefixItems": [{}], "items": false, "minItems": 2})",
       "minItems exceeds"},
      {R"({"type": "string", "enum": [1, 2]})", "no enum or const value is of an allowed type"},
      {R"({"allOf": [{"const": 1}, {"const": 2}]})", "no value can be generated"},
      {R"({"type": "integer", "minimum": 1e20})", "no integer of at most 16 digits"},
  });
}

TEST(JsonSchemaRefusal, Combinations) {
  ExpectRefusals({
      {R"({"allOf": [{"pattern": "a"}, {"pattern": "b"}]})",
       "json_schema at /allOf/1/pattern: cannot be combined with 'pattern' at /allOf/0/pattern"},
      {R"({"allOf": [{"properties": {"a": {}}}, {"additionalProperties": false}]})",
       "at /allOf/1/additionalProperties: cannot be combined with 'properties'"},
      {R"({"type": "string", "pattern": "^a+$", "maxLength": 3})",
       "at /maxLength: maxLength beside a pattern"},
      {R"({"type": "string", "format": "date", "minLength": 11})", "at /minLength: "},
      {R"({"type": "string", "format": "date", "pattern": "x"})", "at /pattern: "},
  });
}

TEST(JsonSchemaRefusal, PatternsOutsideTheSubset) {
  ExpectRefusals({
      {R"j({"type": "string", "pattern": "(?=a)a"})j", "at /pattern: pattern: lookahead"},
      {R"j({"type": "string", "pattern": "(?<!a)b"})j", "lookbehind is not supported"},
      {R"({"type": "string", "pattern": "(a)\\1"})",
       "backreferences are not supported at offset 3"},
      {R"({"type": "string", "pattern": "\\bword"})", "word boundaries"},
      {R"j({"type": "string", "pattern": "(?P<n>a)"})j", "named groups are not supported"},
      {R"j({"type": "string", "pattern": "(?<n>a)"})j", "named groups are not supported"},
      {R"j({"type": "string", "pattern": "(?i)a"})j", "inline flags"},
      {R"({"type": "string", "pattern": "a*+"})", "possessive"},
      {R"({"type": "string", "pattern": "a**"})", "a quantifier may not follow another"},
      {R"({"type": "string", "pattern": "a|^b"})", "'^' is only supported at the start"},
      {R"({"type": "string", "pattern": "a$b"})", "'$' is only supported at the end"},
      {R"({"type": "string", "pattern": "\\p{L}"})", "Unicode property escapes"},
      {R"({"type": "string", "pattern": "(ab"})", "unterminated group"},
      {R"j({"type": "string", "pattern": "ab)"})j", "unmatched ')'"},
      {R"({"type": "string", "pattern": "[z-a]"})", "character range out of order"},
      {R"({"type": "string", "pattern": "a{3,1}"})", "repetition bounds out of order"},
      {R"({"type": "string", "pattern": "*a"})", "nothing to repeat"},
      {R"({"type": "string", "pattern": "\\ud83d"})", "surrogate escapes"},
  });
}

// Hostile schemas are refused or compile quickly; each case must finish well inside a second
// (json_schema.h's bound), which is checked with room to spare for slow machines.
class JsonSchemaHostile : public ::testing::Test {
 protected:
  using Clock = std::chrono::steady_clock;
  void SetUp() override { start_ = Clock::now(); }
  void TearDown() override {
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    EXPECT_LT(seconds, 3.0);
  }

 private:
  Clock::time_point start_;
};

TEST_F(JsonSchemaHostile, DeepNesting) {
  std::string schema;
  for (int i = 0; i < 1000; ++i) schema += R"({"type":"array","items":)";
  schema += "true";
  for (int i = 0; i < 1000; ++i) schema += "}";
  EXPECT_NE(Refusal(schema).find("nested deeper than 128"), std::string::npos);
  // Within the bound it compiles.
  schema.clear();
  for (int i = 0; i < 60; ++i) schema += R"({"type":"array","maxItems":1,"items":)";
  schema += R"({"type":"null"})";
  for (int i = 0; i < 60; ++i) schema += "}";
  std::shared_ptr<const Grammar> g = CompileSchema(schema);
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(Matches(g, std::string(60, '[') + "null" + std::string(60, ']')));
  EXPECT_TRUE(Matches(g, std::string(30, '[') + std::string(30, ']')));
  EXPECT_FALSE(Matches(g, std::string(61, '[') + "null" + std::string(61, ']')));
}

TEST_F(JsonSchemaHostile, HugeEnum) {
  std::string schema = R"({"enum":[)";
  for (int i = 0; i < 100'000; ++i) absl::StrAppend(&schema, i ? "," : "", i * 7);
  schema += "]}";
  EXPECT_NE(Refusal(schema).find("json_schema at /enum: 100000 values, over the limit of 10000"),
            std::string::npos);
  // At the limit: one path per value, so matching stays cheap.
  schema = R"({"enum":[)";
  for (int i = 0; i < 10'000; ++i) schema += (i ? ",\"v" : "\"v") + std::to_string(i * 7) + "\"";
  schema += "]}";
  std::shared_ptr<const Grammar> g = CompileSchema(schema);
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(Matches(g, "\"v69993\""));
  EXPECT_FALSE(Matches(g, "\"v69994\""));
}

TEST_F(JsonSchemaHostile, PathologicalPatterns) {
  std::string dashed;
  for (int i = 0; i < 500; ++i) dashed += "abab-";
  const std::pair<const char*, std::string> cases[] = {
      {"^(a*)*b$", std::string(2000, 'a') + "b"}, {"^((a|a)*){100}$", std::string(2000, 'a')},
      {"^(a|aa)+$", std::string(2000, 'a')},      {"^(a{0,10}){0,100}$", std::string(1000, 'a')},
      {"^(()|a)*(a?)+$", std::string(2000, 'a')}, {"^[a-z]{0,10000}$", std::string(2000, 'z')},
      {"^((a|b){1,9}-){0,500}$", dashed},
  };
  for (const auto& [pattern, text] : cases) {
    const std::string schema = std::string(R"({"type":"string","pattern":")") + pattern + "\"}";
    std::shared_ptr<const Grammar> g = CompileSchema(schema);
    ASSERT_NE(g, nullptr) << pattern;
    EXPECT_TRUE(Matches(g, "\"" + text + "\"")) << pattern;
  }
  for (const char* pattern : {"(a|a)*{100}", "(a{0,100}){0,100}", "((a{0,10}){0,10}){0,100}",
                              "a{20000}", "(a{0,5000}){0,5000}"}) {
    const std::string schema = std::string(R"({"type":"string","pattern":")") + pattern + "\"}";
    EXPECT_NE(Refusal(schema).find("json_schema at /pattern: pattern: "), std::string::npos);
  }
  EXPECT_NE(Refusal(R"({"type":"string","pattern":")" + std::string(1001, 'a') + "\"}")
                .find("over the limit of 1000"),
            std::string::npos);
}

TEST_F(JsonSchemaHostile, RecursiveReferenceCycles) {
  std::string defs;
  for (int i = 0; i < 500; ++i) {
    absl::StrAppend(&defs, i ? "," : "", "\"d", i, "\":{\"$ref\":\"#/$defs/d", (i + 1) % 500,
                    "\"}");
  }
  EXPECT_NE(Refusal(R"({"$defs":{)" + defs + R"(},"$ref":"#/$defs/d0"})")
                .find("no value can be generated"),
            std::string::npos);
  // A long chain that ends in a value compiles.
  defs.clear();
  for (int i = 0; i < 500; ++i) {
    defs += "\"d" + std::to_string(i) + "\":{\"$ref\":\"#/$defs/d" + std::to_string(i + 1) + "\"},";
  }
  defs += R"("d500":{"type":"boolean"})";
  std::shared_ptr<const Grammar> g =
      CompileSchema(R"({"$defs":{)" + defs + R"(},"$ref":"#/$defs/d0"})");
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(Matches(g, "true"));
}

TEST_F(JsonSchemaHostile, GrammarOverTheNotationsLimits) {
  // Every property has its own length bound, so each writes out its own repetition.
  std::string schema = R"({"type":"object","properties":{)";
  for (int i = 0; i < 2000; ++i) {
    absl::StrAppend(&schema, i ? "," : "", "\"p", i,
                    "\":{\"type\":\"string\",\"maxLength\":", 1000 + i, "}");
  }
  schema += "}}";
  absl::StatusOr<std::string> text = JsonSchemaToGrammar(schema);
  ASSERT_TRUE(text.ok()) << text.status();
  absl::StatusOr<std::shared_ptr<const Grammar>> g = ParseGrammar(*text);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("grammar needs more than 200000 rules"), std::string::npos)
      << g.status();
}

TEST_F(JsonSchemaHostile, CombinatorsMultiplying) {
  // Keywords beside anyOf are gathered into each branch, and each branch here gathers the next
  // level's anyOf: 2^25 branches unless the size bound stops it.
  std::string defs;
  for (int i = 0; i < 25; ++i) {
    const std::string next = "{\"$ref\":\"#/$defs/d" + std::to_string(i + 1) + "\"}";
    defs += "\"d" + std::to_string(i) + "\":{\"type\":\"integer\",\"anyOf\":[" + next + "," + next +
            "]},";
  }
  defs += R"("d25":{"minimum":0})";
  const std::string message = Refusal(R"({"$defs":{)" + defs + R"(},"$ref":"#/$defs/d0"})");
  EXPECT_NE(message.find("the schema is too large"), std::string::npos) << message;
}

}  // namespace
}  // namespace llmw::structured
