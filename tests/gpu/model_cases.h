// The models the whole-model GPU tests run: every tiny fixture checkpoint (each family, Hugging
// Face directories and their GGUF conversions) and random-weight models at SmolLM2's shape.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/status_macros.h"
#include "models/llama/random_llama.h"
#include "models/model_runner.h"

namespace llmw {

// Whether a missing GPU fails the test rather than skipping it (LLMW_REQUIRE_GPU=1).
inline bool GpuRequired() {
  const char* v = std::getenv("LLMW_REQUIRE_GPU");
  return v != nullptr && std::string(v) == "1";
}

struct ModelCase {
  std::string name;
  std::string path;  // a fixture, or empty for a random model
  DType random_dtype = DType::kBF16;
};

// The fixtures under $LLMW_SOURCE_DIR/tests/fixtures/hf_tiny (default: the working directory's),
// then a random SmolLM2-shaped model per weight type of `random_dtypes`.
inline std::vector<ModelCase> ModelCases(std::initializer_list<DType> random_dtypes) {
  const char* source = std::getenv("LLMW_SOURCE_DIR");
  const std::filesystem::path dir =
      std::filesystem::path(source != nullptr ? source : ".") / "tests/fixtures/hf_tiny";
  std::vector<ModelCase> cases;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() || entry.path().extension() == ".gguf") {
      std::string id = name;
      std::replace_if(
          id.begin(), id.end(), [](char c) { return !std::isalnum(c); }, '_');
      cases.push_back({id, entry.path().string()});
    }
  }
  std::sort(cases.begin(), cases.end(),
            [](const ModelCase& a, const ModelCase& b) { return a.name < b.name; });
  for (DType dtype : random_dtypes) {
    cases.push_back({"random_smollm2_" + std::string(DTypeName(dtype)), "", dtype});
  }
  return cases;
}

// The case's model on a runner made from `options`.
inline absl::StatusOr<std::unique_ptr<ModelRunner>> LoadModelCase(const ModelCase& c,
                                                                  const RunnerOptions& options) {
  if (!c.path.empty()) return ModelRunner::Load(c.path, options);
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, CreateBackend(options.backend));
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model,
                   RandomLlama("smollm2-135m", c.random_dtype, 1, *backend));
  return ModelRunner::Create(std::move(backend), std::move(model), options);
}

}  // namespace llmw
