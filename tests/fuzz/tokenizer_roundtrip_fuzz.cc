// The tokenizers on arbitrary bytes. The first input byte picks a committed
// tokenizer and the flags (add BOS, parse special tokens); the rest is the
// text. Every id is in the vocabulary, streaming decode equals whole decode,
// and the byte-level BPE tokenizers without a normalizer give the text back.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "models/formats/gguf_file.h"
#include "models/tokenizer/gguf_tokenizer.h"
#include "models/tokenizer/hf_tokenizer.h"
#include "models/tokenizer/stream_decoder.h"
#include "models/tokenizer/unicode.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

struct Loaded {
  std::unique_ptr<llmw::Tokenizer> tokenizer;
  bool round_trips = false;  // byte-level BPE without a normalizer
};

std::vector<Loaded> LoadAll() {
  using namespace llmw;
  std::vector<Loaded> all;
  const auto tiny = fuzz::Fixtures() / "hf_tiny";
  for (const auto& [dir, round_trips] : std::vector<std::pair<const char*, bool>>{
           {"llama", true}, {"phi2", true}, {"gemma3", false}, {"mistral", false}}) {
    absl::StatusOr<HfTokenizerFiles> files = LoadHfTokenizer((tiny / dir).string());
    LLMW_FUZZ_CHECK(files.ok());
    all.push_back({std::move(files->tokenizer), round_trips});
  }
  for (const auto& [file, round_trips] :
       std::vector<std::pair<const char*, bool>>{{"llama-Q8_0.gguf", true},
                                                 {"qwen2-Q8_0.gguf", true},
                                                 {"gemma3-Q8_0.gguf", false},
                                                 {"phi3-Q8_0.gguf", false}}) {
    absl::StatusOr<std::unique_ptr<GgufFile>> gguf = GgufFile::Open((tiny / file).string());
    LLMW_FUZZ_CHECK(gguf.ok());
    absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = TokenizerFromGguf(**gguf);
    LLMW_FUZZ_CHECK(tokenizer.ok());
    all.push_back({std::move(*tokenizer), round_trips});
  }
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llmw;
  static const std::vector<Loaded> tokenizers = LoadAll();
  if (size < 1) return 0;
  const Loaded& loaded = tokenizers[(data[0] >> 2) % tokenizers.size()];
  const Tokenizer& tokenizer = *loaded.tokenizer;
  const bool add_bos = data[0] & 1;
  const bool parse_special = data[0] & 2;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  const std::vector<int32_t> ids = tokenizer.Encode(text, add_bos, parse_special);
  for (int32_t id : ids) LLMW_FUZZ_CHECK(id >= 0 && id < tokenizer.vocab_size());

  const std::string whole = tokenizer.Decode(ids, /*render_special=*/true);
  StreamDecoder stream(tokenizer, /*render_special=*/true);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.Push(id);
  streamed += stream.Flush();
  LLMW_FUZZ_CHECK(streamed == ToValidUtf8(whole));
  LLMW_FUZZ_CHECK(ToValidUtf8(streamed) == streamed);

  if (loaded.round_trips && !add_bos && !parse_special) {
    std::string cleaned;
    if (!CleanUtf8ForEncoding(text, &cleaned)) cleaned = std::string(text);
    LLMW_FUZZ_CHECK(whole == cleaned);
  }
  return 0;
}
