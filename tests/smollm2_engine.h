// SmolLM2 served by an engine, as the engine integration tests run it: 16 sequences, steps of 64
// tokens (so long prompts prefill in several chunks), a KV cache of 4,096 tokens.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kernels/status_macros.h"
#include "models/model_runner.h"
#include "worker/engine/engine.h"

namespace llmw::testing {

struct SmolLM2Engine {
  std::unique_ptr<ModelRunner> runner;
  std::unique_ptr<Engine> engine;  // drives `runner`; declared after it, destroyed first
};

inline absl::StatusOr<SmolLM2Engine> StartSmolLM2Engine(const std::string& path) {
  RunnerOptions runner_options;
  runner_options.max_batch_tokens = 64;
  runner_options.max_sequences = 16;
  runner_options.kv.bytes = 4096 * int64_t{2 * 30 * 3 * 64 * sizeof(float)};
  SmolLM2Engine served;
  ASSIGN_OR_RETURN(served.runner, ModelRunner::Load(path, runner_options));
  EngineOptions options;
  options.max_batch_tokens = 64;
  options.max_running = 16;
  ASSIGN_OR_RETURN(served.engine, Engine::Create(*served.runner, options));
  return served;
}

}  // namespace llmw::testing
