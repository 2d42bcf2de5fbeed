// `llmw generate`: builds a Generate request from the flags (only the sampling and stopping fields
// the user gave, so the rest take the model's defaults as on a worker) and streams it from a
// worker (--server) or from the model loaded here (--model PATH).
#include "tools/llmw/generate_command.h"

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "llmworker/v1/worker.pb.h"
#include "tools/llmw/file_text.h"
#include "tools/llmw/local_generate.h"
#include "tools/llmw/remote_generate.h"
#include "worker/config/flags.h"

namespace llmw::cli {
namespace {

namespace pb = ::llmworker::v1;

const std::vector<FlagSpec>& GenerateFlags() {
  static const auto* specs = [] {
    auto* all = new std::vector<FlagSpec>(ConnectionFlags());
    all->insert(
        all->end(),
        {
            {"model",
             "path to a checkpoint (.gguf or model directory); with --server: the model's name, "
             "default the first"},
            {"random-model",
             "local, instead of --model: random weights at a real shape (smollm2-135m, "
             "llama3.2-1b, llama3.1-8b, tiny); byte-level tokens, nonsense text"},
            {"dtype", "with --random-model: the weights' type (bf16, f16, f32, q8_0, q4_0, ...)"},
            {"prompt", "the prompt text (required)"},
            {"chat", "wrap the prompt as a user message in the model's chat template", true},
            {"special-as-text",
             "read special-token text in the prompt (\"<|im_start|>\") as plain text", true},
            {"max-tokens", "most tokens to generate (default 128)"},
            {"min-tokens", "fewest tokens before end-of-generation may be sampled (default 0)"},
            {"ignore-eos", "keep generating past end-of-generation tokens", true},
            {"stop", "a string that ends generation (repeatable)", false, true},
            {"temperature", "0 = greedy (default: the model's generation_config.json, else 1)"},
            {"top-k", "keep the k most likely tokens; 0 = all (default: the model's, else 0)"},
            {"top-p", "nucleus sampling mass in (0, 1] (default: the model's, else 1)"},
            {"min-p", "drop tokens below min-p × the best one's probability (default 0)"},
            {"typical-p", "locally typical sampling mass in (0, 1] (default 1)"},
            {"repetition-penalty", "> 1 discourages repeating prompt or output tokens (default 1)"},
            {"presence-penalty", "in [-2, 2], per token already generated (default 0)"},
            {"frequency-penalty", "in [-2, 2], per occurrence in the output (default 0)"},
            {"seed", "random seed (default: random)"},
            {"json-object", "constrain the output to a JSON object", true},
            {"json-schema", "constrain the output to JSON valid under the JSON Schema in FILE"},
            {"grammar", "constrain the output to the grammar in FILE (see the README's notation)"},
            {"threads", "local: CPU threads (default: all cores)"},
            {"device", "local: auto, cpu or cuda (default auto: CUDA when a GPU is usable)"},
            {"gpu-memory-utilization", "local: share of the GPU's memory to use (default 0.9)"},
            {"kv-cache-dtype",
             "local: auto, f32, f16 or bf16 (default auto: bf16 on a GPU, f32 on the CPU)"},
        });
    return all;
  }();
  return *specs;
}

struct GenerateOptions {
  Connection connection;
  LocalModel local;      // local only
  RunnerOptions runner;  // local only
  pb::GenerateRequest request;
};

// Sets `set(value)` when flag `name` was given, as a float.
template <typename Setter>
absl::Status SetFloat(const ParsedFlags& flags, const char* name, Setter set) {
  if (!flags.Has(name)) return absl::OkStatus();
  ASSIGN_OR_RETURN(double value, flags.GetDouble(name, 0));
  set(static_cast<float>(value));
  return absl::OkStatus();
}

// Sets `set(value)` when flag `name` was given, as an integer in [lo, hi].
template <typename Setter>
absl::Status SetInt(const ParsedFlags& flags, const char* name, int64_t lo, int64_t hi,
                    Setter set) {
  if (!flags.Has(name)) return absl::OkStatus();
  ASSIGN_OR_RETURN(int64_t value, flags.GetInt(name, 0));
  if (value < lo || value > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be in [", lo, ", ", hi, "], got ", value));
  }
  set(value);
  return absl::OkStatus();
}

// --json-object, --json-schema FILE or --grammar FILE: at most one.
absl::Status SetResponseFormat(const ParsedFlags& flags, pb::GenerateRequest& r) {
  const int given = flags.Has("json-object") + flags.Has("json-schema") + flags.Has("grammar");
  if (given > 1) {
    return absl::InvalidArgumentError("give one of --json-object, --json-schema and --grammar");
  }
  if (flags.Has("json-object")) r.mutable_response_format()->mutable_json_object();
  if (std::optional<std::string> path = flags.Get("json-schema")) {
    ASSIGN_OR_RETURN(*r.mutable_response_format()->mutable_json_schema(), ReadFileText(*path));
  }
  if (std::optional<std::string> path = flags.Get("grammar")) {
    ASSIGN_OR_RETURN(*r.mutable_response_format()->mutable_grammar(), ReadFileText(*path));
  }
  return absl::OkStatus();
}

absl::StatusOr<GenerateOptions> ReadOptions(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(ParsedFlags flags, ParseFlags(GenerateFlags(), args));
  GenerateOptions o;
  o.connection = ReadConnection(flags);
  pb::GenerateRequest& r = o.request;
  if (!o.connection.server.empty()) {
    if (flags.Has("random-model")) {
      return absl::InvalidArgumentError("--random-model is local only: not with --server");
    }
    r.set_model(flags.Get("model").value_or(""));
  } else if (std::optional<std::string> shape = flags.Get("random-model")) {
    if (flags.Has("model")) {
      return absl::InvalidArgumentError("give --model or --random-model, not both");
    }
    o.local.random_shape = *shape;
    o.local.random_dtype = flags.Get("dtype").value_or("bf16");
  } else {
    ASSIGN_OR_RETURN(o.local.path, flags.GetRequired("model"));
  }
  if (flags.Has("dtype") && !flags.Has("random-model")) {
    return absl::InvalidArgumentError("--dtype goes with --random-model");
  }
  ASSIGN_OR_RETURN(std::string prompt, flags.GetRequired("prompt"));
  if (flags.Has("chat")) {
    pb::ChatMessage* m = r.mutable_chat()->add_messages();
    m->set_role("user");
    m->set_content(prompt);
  } else {
    r.set_prompt(prompt);
    r.set_special_tokens_as_text(flags.Has("special-as-text"));
  }
  ASSIGN_OR_RETURN(int64_t max_tokens, flags.GetInt("max-tokens", 128));
  r.set_max_tokens(static_cast<int32_t>(std::clamp<int64_t>(max_tokens, INT32_MIN, INT32_MAX)));
  RETURN_IF_ERROR(SetInt(flags, "min-tokens", 0, INT32_MAX,
                         [&](int64_t v) { r.set_min_tokens(static_cast<int32_t>(v)); }));
  r.set_ignore_eos(flags.Has("ignore-eos"));
  for (const std::string& stop : flags.GetAll("stop")) r.add_stop(stop);
  RETURN_IF_ERROR(SetFloat(flags, "temperature", [&](float v) { r.set_temperature(v); }));
  RETURN_IF_ERROR(SetInt(flags, "top-k", 0, INT32_MAX,
                         [&](int64_t v) { r.set_top_k(static_cast<int32_t>(v)); }));
  RETURN_IF_ERROR(SetFloat(flags, "top-p", [&](float v) { r.set_top_p(v); }));
  RETURN_IF_ERROR(SetFloat(flags, "min-p", [&](float v) { r.set_min_p(v); }));
  RETURN_IF_ERROR(SetFloat(flags, "typical-p", [&](float v) { r.set_typical_p(v); }));
  RETURN_IF_ERROR(
      SetFloat(flags, "repetition-penalty", [&](float v) { r.set_repetition_penalty(v); }));
  RETURN_IF_ERROR(SetFloat(flags, "presence-penalty", [&](float v) { r.set_presence_penalty(v); }));
  RETURN_IF_ERROR(
      SetFloat(flags, "frequency-penalty", [&](float v) { r.set_frequency_penalty(v); }));
  RETURN_IF_ERROR(SetInt(flags, "seed", 0, INT64_MAX,
                         [&](int64_t v) { r.set_seed(static_cast<uint64_t>(v)); }));
  RETURN_IF_ERROR(SetResponseFormat(flags, r));

  RETURN_IF_ERROR(SetInt(flags, "threads", 1, 1024,
                         [&](int64_t v) { o.runner.backend.threads = static_cast<int>(v); }));
  ASSIGN_OR_RETURN(o.runner.backend.device, ParseDevice(flags.Get("device").value_or("auto")));
  ASSIGN_OR_RETURN(o.runner.backend.gpu_memory_utilization,
                   flags.GetDouble("gpu-memory-utilization", 0.9));
  ASSIGN_OR_RETURN(o.runner.kv.dtype,
                   ParseKvCacheDType(flags.Get("kv-cache-dtype").value_or("auto")));
  o.runner.max_sequences = 1;
  return o;
}

}  // namespace

int RunGenerate(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout
          << "usage: llmw generate (--model PATH | --random-model SHAPE | --server HOST:PORT) "
             "--prompt TEXT [flags]\n"
          << FlagsHelp(GenerateFlags());
      return 0;
    }
  }
  absl::StatusOr<GenerateOptions> options = ReadOptions(args);
  absl::Status status = options.status();
  if (options.ok() && !options->connection.server.empty()) {
    status = GenerateRemote(options->connection, options->request);
  } else if (options.ok()) {
    status = GenerateLocal(options->local, options->runner, options->request);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "llmw: error: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace llmw::cli
