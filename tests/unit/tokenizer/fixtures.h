// Reading tests/fixtures/tokenizer (made by make_tokenizer_fixtures.py) from tests.
#pragma once

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace llmw::tokenizer_test {

// The parsed JSON file tests/fixtures/tokenizer/<name> under $LLMW_SOURCE_DIR.
inline nlohmann::json ReadFixture(const std::string& name) {
  const char* root = std::getenv("LLMW_SOURCE_DIR");
  const std::string path =
      std::string(root != nullptr ? root : ".") + "/tests/fixtures/tokenizer/" + name;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
}

inline std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

}  // namespace llmw::tokenizer_test
