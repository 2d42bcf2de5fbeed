// The grammar tests' helper: a grammar that must parse.
#pragma once

#include <memory>
#include <string_view>

#include "gtest/gtest.h"
#include "worker/structured/grammar.h"

namespace llmw::structured {

// The compiled grammar, or null with a test failure naming the parse error.
inline std::shared_ptr<const Grammar> Parse(std::string_view text) {
  absl::StatusOr<std::shared_ptr<const Grammar>> g = ParseGrammar(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *g : nullptr;
}

}  // namespace llmw::structured
