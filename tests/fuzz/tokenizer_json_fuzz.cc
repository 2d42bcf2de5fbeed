// tokenizer.json from a hostile model store: read into a spec, built into a
// tokenizer when valid, which must then encode and decode.
#include <cstddef>
#include <cstdint>

#include "models/tokenizer/hf_bpe_tokenizer.h"
#include "models/tokenizer/hf_tokenizer_json.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llmw;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<HfBpeSpec> spec = HfBpeSpecFromJson(text, "tokenizer.json");
  if (!spec.ok()) return 0;
  absl::StatusOr<std::unique_ptr<HfBpeTokenizer>> tokenizer = HfBpeTokenizer::Create(*spec);
  if (!tokenizer.ok()) return 0;
  fuzz::ExerciseTokenizer(**tokenizer);
  return 0;
}
