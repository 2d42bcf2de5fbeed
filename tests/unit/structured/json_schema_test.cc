// The JSON-schema compiler keyword by keyword: the examples, valid and invalid, follow from the
// JSON Schema 2020-12 specification; a few invalid ones are valid JSON that the compiler's
// documented narrowing leaves out (marked).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/unit/structured/schema_test_util.h"
#include "worker/structured/json_grammar.h"

namespace llmw::structured {
namespace {

TEST(JsonSchema, ScalarTypes) {
  ExpectLanguage(R"({"type": "null"})", {"null"}, {"0", "\"null\"", "nul", "null null"});
  ExpectLanguage(R"({"type": "boolean"})", {"true", "false"}, {"1", "\"true\"", "True"});
  ExpectLanguage(R"({"type": "string"})",
                 {R"("")", R"("a b")", R"("\u00e9\n\"\\\/")", "\"日本\"", R"("\u0000")"},
                 {"\"a", "\"a\nb\"", R"("\x41")", R"("\ud83d\ude00")", "a", "1"});
  ExpectLanguage(R"({"type": "integer"})", {"0", "-7", "42", "1234567890123456"},
                 {"1.5", "01", "+1", "\"1\"", "1e3" /* narrowing: no exponent */,
                  "12345678901234567" /* narrowing: 16 digits */});
  ExpectLanguage(R"({"type": "number"})", {"1.5", "-0.25", "3", "0.0000000000000001"},
                 {"1.", ".5", "-", "+1", "1.5e3" /* narrowing */, "0x10"});
  ExpectLanguage(R"({"type": ["string", "null"]})", {"null", R"("x")"}, {"1", "true"});
}

TEST(JsonSchema, NoWhitespaceAroundTheRoot) {
  ExpectLanguage(R"({"type": "integer"})", {"1"}, {" 1", "1 ", "1\n"});
  ExpectLanguage(R"({"type": "array"})", {"[ 1 ,\n\t2 ]", "[]", "[ ]"}, {" []", "[] "});
}

TEST(JsonSchema, AnyValue) {
  for (const char* schema : {"true", "{}", R"({"description": "anything", "x-custom": 1})"}) {
    ExpectLanguage(schema,
                   {"null", "1", "-2.5", R"("s")", R"({"a": [1, {"b": null}], "c": true})", "[]"},
                   {"", "nul", "{", "[1,]", "1e5" /* narrowing */});
  }
  ExpectLanguage(R"({"type": "object"})", {"{}", R"({"a":1,"a":2})", R"({ "k" : [ ] })"},
                 {"[]", "{,}", R"({"a"})"});
}

TEST(JsonSchema, PropertiesAndRequired) {
  const char* schema = R"({"type": "object",
      "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
      "required": ["b"]})";
  ExpectLanguage(schema, {R"({"b":"x"})", R"({"a":1,"b":"x"})", "{ \"a\" : 1 ,\n \"b\" : \"\" }"},
                 {"{}", R"({"a":1})", R"({"b":1})", R"({"a":"1","b":"x"})", R"({"a":1,"b":"x",})",
                  R"({"b":"x","b":"y"})", R"({,"b":"x"})",
                  R"({"b":"x","c":1})" /* narrowing: only listed properties */,
                  R"({"b":"x","a":1})" /* narrowing: schema order */});
}

// Every subset of optional properties, with the required ones, in order and comma-separated.
TEST(JsonSchema, EverySubsetOfOptionalProperties) {
  const std::vector<std::string> names = {"p", "q", "r", "s"};
  for (int required_mask = 0; required_mask < 16; ++required_mask) {
    std::string schema = R"({"type":"object","properties":{)";
    std::string required;
    for (size_t i = 0; i < names.size(); ++i) {
      absl::StrAppend(&schema, i ? "," : "", "\"", names[i], "\":{\"const\":", i, "}");
      if (required_mask & (1 << i)) {
        absl::StrAppend(&required, required.empty() ? "\"" : ",\"", names[i], "\"");
      }
    }
    schema += "},\"required\":[" + required + "],\"additionalProperties\":false}";
    std::shared_ptr<const Grammar> g = CompileSchema(schema);
    ASSERT_NE(g, nullptr);
    for (int present = 0; present < 16; ++present) {
      std::string text = "{";
      for (size_t i = 0; i < names.size(); ++i) {
        if (!(present & (1 << i))) continue;
        if (text.size() > 1) text += ", ";
        text += "\"" + names[i] + "\": " + std::to_string(i);
      }
      text += "}";
      const bool valid = (present & required_mask) == required_mask;
      EXPECT_EQ(Matches(g, text), valid) << schema << "\n" << text;
    }
  }
}

TEST(JsonSchema, AdditionalProperties) {
  ExpectLanguage(R"({"type": "object", "properties": {"a": {"type": "integer"}},
                     "additionalProperties": false})",
                 {"{}", R"({"a":3})"}, {R"({"b":3})", R"({"a":3,"b":3})"});
  // Other names take the additional schema, and may not be a listed name in any spelling.
  ExpectLanguage(
      R"({"type": "object", "properties": {"a": {"type": "integer"}, "": {"type": "null"}},
          "additionalProperties": {"type": "string"}})",
      {R"({"a":1,"x":"s"})", R"({"x":"s"})", R"({"x":"s","y":"t"})", R"({"ab":"s"})",
       R"({"":null,"b":""})", R"({"A":"s"})", R"({"\n":"s"})"},
      {R"({"x":1})", R"({"a":"s"})", R"({"a":1,"a":"s"})", R"({"\u0061":"s"})", R"({"":"s"})"});
  ExpectLanguage(R"({"type": "object", "additionalProperties": true,
                     "properties": {"a": {"const": 1}}})",
                 {R"({"a":1,"b":[{}]})", R"({"zz":null})"}, {R"({"a":2})", R"({"a":1,"a":1})"});
  // Required names not listed take the additional schema too.
  ExpectLanguage(R"({"type": "object", "required": ["n"],
                     "additionalProperties": {"type": "integer"}})",
                 {R"({"n":1})", R"({"n":1,"m":2})"}, {"{}", R"({"n":"x"})", R"({"m":2})"});
  ExpectLanguage(R"({"required": ["n"]})", {R"({"n":[]})", R"({"n":1,"o":2})"}, {"{}", "1"});
}

TEST(JsonSchema, Arrays) {
  ExpectLanguage(R"({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3})",
                 {"[1]", "[1,2,3]", "[ 1 , 2 ]"}, {"[]", "[1,2,3,4]", R"(["a"])", "[1,]", "[,1]"});
  ExpectLanguage(R"({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}],
                     "items": false})",
                 {R"(["a",1])", R"(["a"])", "[]"}, {R"(["a",1,2])", "[1]", R"([1,"a"])"});
  ExpectLanguage(R"({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}],
                     "items": {"type": "boolean"}, "minItems": 3})",
                 {R"(["a",1,true])", R"(["a",1,true,false])"},
                 {R"(["a",1])", R"(["a",1,2])", R"(["a","b",true])"});
  ExpectLanguage(R"({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}],
                     "maxItems": 1})",
                 {"[]", R"(["a"])"}, {R"(["a",1])"});
  // Without items, items past the prefix are left out unless minItems needs them.
  ExpectLanguage(R"({"type": "array", "prefixItems": [{"const": 1}], "minItems": 2})",
                 {R"([1,"any"])", "[1,2,3]"}, {"[1]", "[2,2]"});
  ExpectLanguage(R"({"type": "array", "maxItems": 0})", {"[]"}, {"[1]"});
  ExpectLanguage(R"({"type": "array", "items": true, "minItems": 2})", {"[1,[]]"}, {"[1]"});
}

TEST(JsonSchema, EnumAndConst) {
  ExpectLanguage(R"({"enum": ["red", 1, null, {"a": [1, 2.5]}, "re", ""]})",
                 {R"("red")", "1", "null", R"({"a":[1,2.5]})", R"("re")", R"("")"},
                 {R"("blue")", R"("r")", "2", "1.0", R"({"a": [1,2.5]})" /* compact only */});
  ExpectLanguage(R"({"type": "string", "enum": ["a", 1, "b"]})", {R"("a")", R"("b")"}, {"1"});
  ExpectLanguage(R"({"type": "integer", "enum": [1.0, 1.5, "x"]})", {"1.0"}, {"1.5", R"("x")"});
  ExpectLanguage(R"({"const": "x\"y"})", {R"("x\"y")"}, {R"("x")", R"("x\u0022y")"});
  ExpectLanguage(R"({"const": [true, {"k": "日本"}]})", {R"([true,{"k":"日本"}])"}, {"[true]"});
  ExpectLanguage(R"({"enum": [1, 2], "const": 2})", {"2"}, {"1"});
}

TEST(JsonSchema, AnyOf) {
  ExpectLanguage(R"({"anyOf": [{"type": "integer", "maximum": 0},
                               {"type": "string", "maxLength": 1}]})",
                 {"-5", "0", R"("a")", R"("")"}, {"5", R"("ab")", "null"});
  // Keywords beside anyOf hold in every branch.
  ExpectLanguage(R"({"type": "object", "properties": {"x": {}, "y": {}},
                     "additionalProperties": false,
                     "anyOf": [{"required": ["x"]}, {"required": ["y"]}]})",
                 {R"({"x":1})", R"({"y":1})", R"({"x":1,"y":2})"}, {"{}", R"({"z":1})"});
  ExpectLanguage(R"({"type": "integer", "anyOf": [{"maximum": 2}, {"minimum": 10}]})",
                 {"2", "-3", "10", "11"}, {"3", "9", R"("a")"});
}

TEST(JsonSchema, OneOf) {
  ExpectLanguage(R"({"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]})",
                 {R"("s")", "3", "null"}, {"1.5", "true"});
  ExpectLanguage(R"({"oneOf": [
      {"type": "object", "properties": {"kind": {"const": "a"}, "x": {"type": "integer"}},
       "required": ["kind"], "additionalProperties": false},
      {"type": "object", "properties": {"kind": {"enum": ["b", "c"]}, "y": {"type": "string"}},
       "required": ["kind", "y"], "additionalProperties": false}]})",
                 {R"({"kind":"a"})", R"({"kind":"a","x":1})", R"({"kind":"c","y":""})"},
                 {R"({"kind":"b"})", R"({"kind":"a","y":""})", R"({"kind":"d","y":""})"});
  ExpectLanguage(R"({"oneOf": [{"enum": [1, "x"]}, {"enum": [2, null]}]})", {"1", "null"}, {"3"});
}

TEST(JsonSchema, OneOfOverlapIsRefused) {
  for (const char* schema :
       {R"({"oneOf": [{"type": "integer"}, {"type": "number"}]})",
        R"({"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]})",
        R"({"oneOf": [{"enum": [1, 2]}, {"enum": [2.0]}]})",
        R"({"oneOf": [{"type": "object", "properties": {"k": {"const": 1}}},
                         {"type": "object", "properties": {"k": {"const": 2}}}]})",
        R"({"oneOf": [{}, {"type": "null"}]})"}) {
    const std::string message = Refusal(schema);
    EXPECT_NE(message.find("json_schema at /oneOf: oneOf branches may overlap; use anyOf"),
              std::string::npos)
        << message;
  }
}

TEST(JsonSchema, LocalReferences) {
  ExpectLanguage(R"({"$defs": {"n": {"type": "integer", "minimum": 5}},
                     "type": "array", "items": {"$ref": "#/$defs/n"}})",
                 {"[5,6]", "[]"}, {"[4]"});
  ExpectLanguage(R"({"definitions": {"a/b": {"const": 1}, "c~d": {"const": 2}, "e%f": {"const": 3}},
                     "type": "array", "prefixItems": [{"$ref": "#/definitions/a~1b"},
                     {"$ref": "#/definitions/c~0d"}, {"$ref": "#/definitions/e%25f"}],
                     "items": false, "minItems": 3})",
                 {"[1,2,3]"}, {"[1,2,2]", "[2,2,3]"});
  // Recursion: nested arrays, and a linked list through $defs.
  ExpectLanguage(R"({"type": "array", "items": {"$ref": "#"}, "maxItems": 2})",
                 {"[]", "[[],[[]]]", "[[[[]]]]"}, {"[1]", "[[],[],[]]"});
  ExpectLanguage(R"({"$defs": {"list": {"anyOf": [{"type": "null"},
                     {"type": "object", "properties": {"v": {"type": "integer"},
                      "next": {"$ref": "#/$defs/list"}}, "required": ["v", "next"],
                      "additionalProperties": false}]}}, "$ref": "#/$defs/list"})",
                 {"null", R"({"v":1,"next":{"v":2,"next":null}})"},
                 {R"({"v":1})", R"({"v":1,"next":{"v":2}})"});
  // A reference that names itself among other choices means the other choices.
  ExpectLanguage(R"({"anyOf": [{"$ref": "#"}, {"type": "string"}]})", {R"("s")"}, {"1"});
}

TEST(JsonSchema, AllOfAndKeywordsBesideRef) {
  ExpectLanguage(R"({"$defs": {"small": {"type": "integer", "minimum": 0, "maximum": 100}},
                     "allOf": [{"$ref": "#/$defs/small"}, {"minimum": 5}, {"maximum": 7}]})",
                 {"5", "7"}, {"4", "8", "100"});
  ExpectLanguage(R"({"$defs": {"s": {"type": ["string", "integer"], "maxLength": 2}},
                     "$ref": "#/$defs/s", "type": "string", "minLength": 1})",
                 {R"("a")", R"("ab")"}, {R"("")", R"("abc")", "1"});
  ExpectLanguage(R"({"allOf": [{"type": "object", "required": ["a"]},
                               {"properties": {"a": {"const": 1}, "b": {}}}]})",
                 {R"({"a":1})", R"({"a":1,"b":2})"}, {"{}", R"({"a":2})"});
}

TEST(JsonSchema, StringLengthsCountCodePoints) {
  ExpectLanguage(R"({"type": "string", "minLength": 2, "maxLength": 3})",
                 {R"("ab")", "\"日本語\"", R"("\n\t")", R"("a\u00e9")", "\"😀😀\""},
                 {R"("a")", R"("abcd")", "\"😀\"", R"("\\")"});
  ExpectLanguage(R"({"type": "string", "maxLength": 0})", {R"("")"}, {R"("a")"});
}

TEST(JsonSchema, Patterns) {
  ExpectLanguage(R"({"type": "string", "pattern": "^[A-Z]{2}-\\d{3}$"})", {R"("AB-123")"},
                 {R"("AB-12")", R"("ab-123")", R"("AB-1234")"});
  // Characters JSON must escape are written escaped.
  ExpectLanguage(R"({"type": "string", "pattern": "^[\"\\\\\\n]+$"})",
                 {R"("\"")", R"("\\")", R"("\n\"")"}, {"\"\n\"", R"("\u000a")", R"("a")"});
  // The whole string matches (narrowing: validators search anywhere).
  ExpectLanguage(R"({"type": "string", "pattern": "b+"})", {R"("b")", R"("bbb")"}, {R"("abc")"});
  ExpectLanguage(R"({"type": "string", "pattern": "^(?:ab|c)*?$"})",
                 {R"("")", R"("abcab")", R"("cc")"}, {R"("a")", R"("abb")"});
  // A pattern with length bounds it already satisfies.
  ExpectLanguage(R"({"type": "string", "pattern": "^[0-9]{4}$", "minLength": 4, "maxLength": 4})",
                 {R"("2024")"}, {R"("123")"});
}

TEST(JsonSchema, Formats) {
  ExpectLanguage(R"({"type": "string", "format": "date"})",
                 {R"("2024-02-28")", R"("0001-12-31")", R"("1999-04-30")"},
                 {R"("2024-02-30")", R"("2024-13-01")", R"("0000-01-01")", R"("2024-04-31")",
                  R"("2024-1-01")"});
  ExpectLanguage(R"({"type": "string", "format": "time"})",
                 {R"("12:00:00Z")", R"("23:59:59.123+05:30")"},
                 {R"("12:00:00")", R"("24:00:00Z")", R"("12:60:00Z")"});
  ExpectLanguage(R"({"type": "string", "format": "date-time"})", {R"("2024-01-31T08:15:00-01:00")"},
                 {R"("2024-01-31 08:15:00Z")", R"("2024-01-31")"});
  ExpectLanguage(
      R"({"type": "string", "format": "uuid"})", {R"("123e4567-e89b-12d3-a456-426614174000")"},
      {R"("123e4567e89b12d3a456426614174000")", R"("123e4567-e89b-12d3-a456-42661417400g")"});
  ExpectLanguage(R"({"type": "string", "format": "ipv4"})",
                 {R"("192.168.0.1")", R"("0.0.0.0")", R"("255.255.255.255")"},
                 {R"("256.1.1.1")", R"("01.1.1.1")", R"("1.1.1")"});
  ExpectLanguage(R"({"type": "string", "format": "email"})", {R"("a.b@example.com")"},
                 {R"("ab")", R"("@example.com")"});
  // format constrains strings only.
  ExpectLanguage(R"({"type": ["integer", "string"], "format": "ipv4"})", {"7", R"("1.2.3.4")"},
                 {R"("x")"});
}

TEST(JsonSchema, NumberBounds) {
  ExpectLanguage(R"({"type": "number", "exclusiveMinimum": 0, "maximum": 1})",
                 {"0.5", "1", "1.0", "1.000", "0.0000001", "0.999"},
                 {"0", "0.0", "-0.5", "1.5", "1.0000001", "2"});
  ExpectLanguage(R"({"type": "number", "minimum": -2, "exclusiveMaximum": -1})",
                 {"-2", "-2.0", "-1.5", "-1.001"}, {"-1", "-1.0", "-2.5", "0"});
  ExpectLanguage(R"({"type": "number", "exclusiveMinimum": 0})", {"0.1", "7", "12345.6"},
                 {"0", "-0.1", "-3"});
  // Next to an exclusive bound, fractions stop short of what would round to the bound.
  ExpectLanguage(R"({"type": "number", "exclusiveMaximum": 6})", {"5.9", "5.99999999999999"},
                 {"5.9999999999999999", "6"});
  ExpectLanguage(R"({"type": "number", "multipleOf": 1, "maximum": 3})", {"3", "-10"},
                 {"2.5", "3.0"});
  ExpectLanguage(R"({"type": "integer", "minimum": 1.5, "exclusiveMaximum": 3.5})", {"2", "3"},
                 {"1", "4"});
}

TEST(JsonSchema, ImpliedTypes) {
  ExpectLanguage(R"({"minimum": 3})", {"3", "4.5"}, {R"("a")", "null"});
  ExpectLanguage(R"({"maxLength": 1})", {R"("a")"}, {"1"});
  ExpectLanguage(R"({"properties": {"a": {}}})", {"{}", R"({"a":1})"}, {"[]"});
}

TEST(JsonSchema, JsonObjectGrammar) {
  std::shared_ptr<const Grammar> g = Parse(kJsonObjectGrammar);
  ASSERT_NE(g, nullptr);
  for (const char* text :
       {"{}", R"({"a":[1,2.5,{"b":null}],"c":"\u00e9"})", "{ \"k\" :\n true }"}) {
    EXPECT_TRUE(Matches(g, text)) << text;
  }
  for (const char* text : {"[]", "\"s\"", " {}", "{} ", "{\"a\":1e5}", "{\"a\":1,}"}) {
    EXPECT_FALSE(Matches(g, text)) << text;
  }
}

}  // namespace
}  // namespace llmw::structured
