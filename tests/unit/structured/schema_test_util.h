// The JSON-schema tests' helpers: compile a schema, and check which texts its grammar accepts.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/structured/parse.h"
#include "worker/structured/json_schema.h"
#include "worker/structured/matcher.h"

namespace llmw::structured {

// The grammar of `schema`, or null with a test failure naming the refusal.
inline std::shared_ptr<const Grammar> CompileSchema(std::string_view schema) {
  absl::StatusOr<std::string> text = JsonSchemaToGrammar(schema);
  EXPECT_TRUE(text.ok()) << text.status() << "\nschema: " << schema;
  return text.ok() ? Parse(*text) : nullptr;
}

// Whether `text` is a whole string of the grammar.
inline bool Matches(const std::shared_ptr<const Grammar>& g, std::string_view text) {
  GrammarMatcher m(g);
  return m.Accept(text) && m.CanEnd();
}

// Each of `valid` is accepted, each of `invalid` is not.
inline void ExpectLanguage(std::string_view schema, const std::vector<std::string>& valid,
                           const std::vector<std::string>& invalid) {
  std::shared_ptr<const Grammar> g = CompileSchema(schema);
  ASSERT_NE(g, nullptr);
  for (const std::string& text : valid) EXPECT_TRUE(Matches(g, text)) << schema << "\n" << text;
  for (const std::string& text : invalid) EXPECT_FALSE(Matches(g, text)) << schema << "\n" << text;
}

// The message refusing `schema`, or "" with a test failure when it compiles.
inline std::string Refusal(std::string_view schema) {
  absl::StatusOr<std::string> text = JsonSchemaToGrammar(schema);
  EXPECT_FALSE(text.ok()) << "compiled: " << schema;
  if (text.ok()) return "";
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument) << text.status();
  return std::string(text.status().message());
}

}  // namespace llmw::structured
