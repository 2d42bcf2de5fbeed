// GGUF files from a hostile model store: the parser, then (when the file
// parses) the tokenizer built from its metadata, which must encode and decode.
#include <cstddef>
#include <cstdint>
#include <span>

#include "models/formats/gguf_file.h"
#include "models/formats/gguf_parser.h"
#include "models/tokenizer/gguf_tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llmw;
  if (!ParseGguf(std::span<const uint8_t>(data, size), "fuzz.gguf").ok()) return 0;
  const auto path = fuzz::ScratchDir() / "model.gguf";
  fuzz::WriteFile(path, std::string_view(reinterpret_cast<const char*>(data), size));
  absl::StatusOr<std::unique_ptr<GgufFile>> file = GgufFile::Open(path.string());
  if (!file.ok()) return 0;
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = TokenizerFromGguf(**file);
  if (!tokenizer.ok()) return 0;
  fuzz::ExerciseTokenizer(**tokenizer);
  return 0;
}
