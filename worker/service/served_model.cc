// Loading the served models and their engines.
#include "worker/service/served_model.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/tokenizer/chat_prompt.h"

namespace llmw {

absl::StatusOr<ModelSpec> ParseModelSpec(const std::string& text) {
  ModelSpec spec;
  if (const size_t eq = text.find('='); eq != std::string::npos) {
    spec.name = text.substr(0, eq);
    spec.path = text.substr(eq + 1);
  } else {
    spec.path = text;
    std::filesystem::path path(text);
    if (!path.has_filename()) path = path.parent_path();  // "dir/" names "dir"
    spec.name = path.extension() == ".gguf" ? path.stem().string() : path.filename().string();
  }
  if (spec.name.empty() || spec.path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--model expects NAME=PATH or PATH, got '", text, "'"));
  }
  return spec;
}

absl::StatusOr<std::unique_ptr<ModelSet>> ModelSet::Load(const std::vector<ModelSpec>& specs,
                                                         const RunnerOptions& runner_options,
                                                         const EngineOptions& engine_options) {
  if (specs.empty()) return absl::InvalidArgumentError("no model to serve (--model NAME=PATH)");
  auto set = std::make_unique<ModelSet>();
  for (const ModelSpec& spec : specs) {
    RETURN_IF_ERROR(set->Add(spec, runner_options, engine_options));
  }
  return set;
}

absl::Status ModelSet::Add(const ModelSpec& spec, const RunnerOptions& runner_options,
                           const EngineOptions& engine_options) {
  for (const auto& loaded : models_) {
    if (loaded->name == spec.name) {
      return absl::InvalidArgumentError(absl::StrCat("model name '", spec.name, "' given twice"));
    }
  }
  absl::StatusOr<std::unique_ptr<ModelRunner>> runner =
      ModelRunner::Load(spec.path, runner_options);
  if (!runner.ok()) {
    return absl::Status(runner.status().code(),
                        absl::StrCat("model '", spec.name, "': ", runner.status().message()));
  }
  return Add(spec.name, std::move(*runner), engine_options);
}

absl::Status ModelSet::Add(const std::string& name, std::unique_ptr<ModelRunner> runner,
                           const EngineOptions& engine_options) {
  for (const auto& loaded : models_) {
    if (loaded->name == name) {
      return absl::InvalidArgumentError(absl::StrCat("model name '", name, "' given twice"));
    }
  }
  auto served = std::make_unique<ServedModel>();
  served->grammars = grammars_;
  served->name = name;
  served->runner = std::move(runner);
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(*served->runner, engine_options);
  if (!engine.ok()) {
    return absl::Status(engine.status().code(),
                        absl::StrCat("model '", name, "': ", engine.status().message()));
  }
  served->engine = std::move(*engine);
  absl::StatusOr<std::unique_ptr<ChatTemplate>> chat_template = ChatTemplateFromText(
      served->runner->info().chat_template, ChatContextOf(served->runner->tokenizer()));
  if (chat_template.ok()) {
    served->chat_template = std::move(*chat_template);
  } else {
    served->chat_template_error = std::string(chat_template.status().message());
  }
  models_.push_back(std::move(served));
  return absl::OkStatus();
}

ServedModel* ModelSet::Find(const std::string& name) {
  if (name.empty()) return models_.empty() ? nullptr : models_.front().get();
  for (auto& m : models_) {
    if (m->name == name) return m.get();
  }
  return nullptr;
}

}  // namespace llmw
