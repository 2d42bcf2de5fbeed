// Where tests find real model files, and what a test does when one is missing: it is skipped,
// or fails when LLMW_REQUIRE_MODELS=1 (so CI machines that have the models cannot skip).
//
//   TEST(SmolLm2, Loads) {
//     LLMW_TEST_MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf", "LLMW_SMOLLM2_GGUF");
//     ... open `path` ...
//   }
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace llmw::testing {

// Where the model would be: the value of env `env_var` when set and non-empty, else
// $HOME/.cache/llm-worker/models/<file_name>.
inline std::string TestModelPath(std::string_view file_name, std::string_view env_var = "") {
  if (!env_var.empty()) {
    const char* v = std::getenv(std::string(env_var).c_str());
    if (v != nullptr && *v != '\0') return v;
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && *home != '\0' ? home : "/root") +
         "/.cache/llm-worker/models/" + std::string(file_name);
}

// TestModelPath when that file exists.
inline std::optional<std::string> FindTestModel(std::string_view file_name,
                                                std::string_view env_var = "") {
  std::string path = TestModelPath(file_name, env_var);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  return path;
}

inline bool ModelsRequired() {
  const char* v = std::getenv("LLMW_REQUIRE_MODELS");
  return v != nullptr && std::string_view(v) == "1";
}

}  // namespace llmw::testing

// Declares `const std::string& var`, the model's path; when the file is missing, returns from
// the (void) test function: skipped, or failed under LLMW_REQUIRE_MODELS=1.
#define LLMW_TEST_MODEL_OR_SKIP(var, file_name, env_var)                                  \
  const std::optional<std::string> var##_found =                                          \
      ::llmw::testing::FindTestModel(file_name, env_var);                                 \
  if (!var##_found) {                                                                     \
    const std::string var##_missing = ::llmw::testing::TestModelPath(file_name, env_var); \
    if (::llmw::testing::ModelsRequired()) {                                              \
      FAIL() << "model " << var##_missing << " not found and LLMW_REQUIRE_MODELS=1";      \
    }                                                                                     \
    GTEST_SKIP() << "model " << var##_missing << " not found (set " << env_var            \
                 << " or download it; LLMW_REQUIRE_MODELS=1 turns this into a failure)";  \
  }                                                                                       \
  const std::string& var = *var##_found
