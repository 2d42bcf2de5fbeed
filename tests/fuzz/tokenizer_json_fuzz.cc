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
  const std::vector<int32_t> ids =
      (*tokenizer)->Encode("Hello <|im_start|> wörld\n\t 123 \xff", true, true);
  for (int32_t id : ids) LLMW_FUZZ_CHECK(id >= 0 && id < (*tokenizer)->vocab_size());
  (*tokenizer)->Decode(ids, true);
  return 0;
}
