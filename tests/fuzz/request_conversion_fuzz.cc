// Generate and Tokenize requests as a client may send them: bytes → message
// (ParseRequest), the request id check, then the conversion to the engine's
// request (tokenizing the prompt or rendering the chat with a tiny model) and
// the engine's checks of the sampling fields. The first input byte picks the
// message type; the rest is its wire bytes.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "google/protobuf/stubs/logging.h"
#include "llmworker/v1/worker.pb.h"
#include "models/model_runner.h"
#include "models/tokenizer/chat_prompt.h"
#include "tests/fuzz/fuzz_util.h"
#include "worker/engine/sampler.h"
#include "worker/service/proto_convert.h"
#include "worker/service/request_parsing.h"

namespace {

llmw::ServedModel LoadTinyModel() {
  const auto path = llmw::fuzz::Fixtures() / "hf_tiny" / "qwen2-Q8_0.gguf";
  llmw::RunnerOptions options;
  options.backend.threads = 1;
  options.max_batch_tokens = 16;
  options.max_sequences = 1;
  options.kv.bytes = 1 << 20;
  absl::StatusOr<std::unique_ptr<llmw::ModelRunner>> runner =
      llmw::ModelRunner::Load(path.string(), options);
  LLMW_FUZZ_CHECK(runner.ok());
  llmw::ServedModel served;
  served.name = "tiny";
  served.runner = std::move(*runner);
  auto chat = llmw::ChatTemplateFromText(served.runner->info().chat_template,
                                         llmw::ChatContextOf(served.runner->tokenizer()));
  LLMW_FUZZ_CHECK(chat.ok());
  served.chat_template = std::move(*chat);
  return served;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs every string field that is not UTF-8; the worker routes that to its log, here
  // it would only slow the fuzzer down.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llmw;
  namespace pb = ::llmworker::v1;
  static const ServedModel model = LoadTinyModel();
  if (size < 1) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const int32_t vocab = model.runner->tokenizer().vocab_size();
  if (data[0] % 2 == 0) {
    pb::GenerateRequest request;
    if (!ParseRequest(bytes, &request).ok()) return 0;
    if (!CheckRequestId(request.request_id(), "request_id").ok()) return 0;
    absl::StatusOr<GenerationRequest> converted = ToEngineRequest(request, model, "fuzz");
    if (!converted.ok()) return 0;
    for (int32_t id : converted->prompt) LLMW_FUZZ_CHECK(id >= 0 && id < vocab);
    ValidateSamplingParams(converted->sampling, vocab).IgnoreError();
  } else {
    pb::TokenizeRequest request;
    if (!ParseRequest(bytes, &request).ok()) return 0;
    absl::StatusOr<std::vector<int32_t>> ids = PromptTokens(request, model);
    if (!ids.ok()) return 0;
    for (int32_t id : *ids) LLMW_FUZZ_CHECK(id >= 0 && id < vocab);
  }
  return 0;
}
