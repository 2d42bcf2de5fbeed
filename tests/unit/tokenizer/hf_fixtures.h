// Reading tests/fixtures/hf_tokenizers (made by make_hf_tokenizer_fixtures.py) from tests.
#pragma once

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace llmw::tokenizer_test {

// $LLMW_SOURCE_DIR/tests/fixtures/hf_tokenizers/<name>
inline std::string HfFixturePath(const std::string& name) {
  const char* root = std::getenv("LLMW_SOURCE_DIR");
  return std::string(root != nullptr ? root : ".") + "/tests/fixtures/hf_tokenizers/" + name;
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline nlohmann::json ReadHfFixture(const std::string& name) {
  return nlohmann::json::parse(ReadText(HfFixturePath(name)), nullptr, /*allow_exceptions=*/false);
}

}  // namespace llmw::tokenizer_test
