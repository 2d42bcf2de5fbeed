// config.json and generation_config.json of a Hugging Face model directory:
// the first input byte picks the file, the rest is its text. Reads it as the
// loaders do (model_type, then the family's config, or the sampling defaults
// and end-of-generation ids).
#include <cstddef>
#include <cstdint>

#include "models/gemma/hf_gemma.h"
#include "models/hf/hf_checkpoint.h"
#include "models/llama/hf_llama.h"
#include "models/tokenizer/hf_tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llmw;
  if (size < 1) return 0;
  const std::string dir = fuzz::ScratchDir().string();
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::filesystem::remove(fuzz::ScratchDir() / "config.json");
  std::filesystem::remove(fuzz::ScratchDir() / "generation_config.json");
  if (data[0] % 2 == 0) {
    fuzz::WriteFile(fuzz::ScratchDir() / "config.json", text);
    absl::StatusOr<HfCheckpoint> checkpoint = ReadHfCheckpoint(dir);
    if (!checkpoint.ok()) return 0;
    if (checkpoint->model_type == "gemma3_text") {
      ReadHfGemmaConfig(*checkpoint).IgnoreError();
    } else {
      std::vector<float> inv_freq;
      absl::StatusOr<LlamaConfig> config = ReadHfLlamaConfig(*checkpoint, &inv_freq);
      if (config.ok()) {
        for (float f : inv_freq) LLMW_FUZZ_CHECK(f == f);  // no NaN frequencies
      }
    }
  } else {
    fuzz::WriteFile(fuzz::ScratchDir() / "generation_config.json", text);
    ReadGenerationDefaults(dir).IgnoreError();
    ReadGenerationEosIds(dir).IgnoreError();
  }
  return 0;
}
