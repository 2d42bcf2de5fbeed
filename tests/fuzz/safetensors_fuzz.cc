// safetensors files from a hostile model store: the header parser, whose
// tensors must then lie inside the file.
#include <cstddef>
#include <cstdint>
#include <span>

#include "models/formats/safetensors_parser.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<llmw::SafetensorsContents> contents =
      llmw::ParseSafetensors(std::span<const uint8_t>(data, size), "fuzz.safetensors");
  if (!contents.ok()) return 0;
  LLMW_FUZZ_CHECK(contents->data_offset <= size);
  for (const llmw::SafetensorsTensor& t : contents->tensors) {
    LLMW_FUZZ_CHECK(t.begin <= t.end && t.end <= size - contents->data_offset);
  }
  return 0;
}
