// The models a worker serves: each loaded model's runner (its own backend,
// KV cache and compute resources) with its engine and chat template, looked
// up by name.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model_runner.h"
#include "models/tokenizer/chat_template.h"
#include "worker/engine/engine.h"
#include "worker/structured/response_format.h"

namespace llmw {

struct ServedModel {
  std::string name;
  std::unique_ptr<ModelRunner> runner;
  std::unique_ptr<Engine> engine;  // drives `runner`; declared after it, destroyed first
  // Null when the checkpoint's template is missing or not recognised; then
  // chat requests fail with `chat_template_error` and raw prompts still work.
  std::unique_ptr<ChatTemplate> chat_template;
  std::string chat_template_error;
  // Compiled response formats, shared by the models of a set; null: compile each time.
  std::shared_ptr<structured::GrammarCache> grammars;
};

// "name=path", or a bare path (the name is then the file name without .gguf,
// or the model directory's name).
struct ModelSpec {
  std::string name;
  std::string path;
};
absl::StatusOr<ModelSpec> ParseModelSpec(const std::string& text);

class ModelSet {
 public:
  // Loads every model and starts its engine; the first failure is returned
  // (naming the model) and nothing is served.
  static absl::StatusOr<std::unique_ptr<ModelSet>> Load(const std::vector<ModelSpec>& specs,
                                                        const RunnerOptions& runner_options,
                                                        const EngineOptions& engine_options);
  // Loads one more model onto a runner of its own and starts its engine;
  // errors name the model.
  absl::Status Add(const ModelSpec& spec, const RunnerOptions& runner_options,
                   const EngineOptions& engine_options);
  // Serves a model already on its runner, under `name`.
  absl::Status Add(const std::string& name, std::unique_ptr<ModelRunner> runner,
                   const EngineOptions& engine_options);

  // The model called `name`; the first model when `name` is empty.
  ServedModel* Find(const std::string& name);
  const std::vector<std::unique_ptr<ServedModel>>& models() const { return models_; }

 private:
  std::vector<std::unique_ptr<ServedModel>> models_;
  std::shared_ptr<structured::GrammarCache> grammars_ =
      std::make_shared<structured::GrammarCache>();
};

}  // namespace llmw
