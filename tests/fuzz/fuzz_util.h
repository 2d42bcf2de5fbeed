// What the fuzz targets share: the committed fixtures' directory, a private
// scratch directory for targets whose code under test reads files, and a
// check that fails loudly (libFuzzer reports the abort as a crash).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "models/tokenizer/tokenizer.h"

namespace llmw::fuzz {

// The repository's tests/fixtures.
inline std::filesystem::path Fixtures() {
  const char* source = std::getenv("LLMW_SOURCE_DIR");
  return std::filesystem::path(source != nullptr ? source : LLMW_DEFAULT_SOURCE_DIR) / "tests" /
         "fixtures";
}

// A directory of this process's own, made on first use.
inline const std::filesystem::path& ScratchDir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path d =
        std::filesystem::temp_directory_path() / ("llmw-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline void WriteFile(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

#define LLMW_FUZZ_CHECK(condition)                                                       \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

// A tokenizer built from fuzzed input must still encode (ids in its vocabulary) and decode.
inline void ExerciseTokenizer(const Tokenizer& tokenizer) {
  const std::vector<int32_t> ids = tokenizer.Encode("Hello <|im_start|> w\xc3\xb6rld\n\t 123 \xff",
                                                    /*add_bos=*/true, /*parse_special=*/true);
  for (int32_t id : ids) LLMW_FUZZ_CHECK(id >= 0 && id < tokenizer.vocab_size());
  tokenizer.Decode(ids, /*render_special=*/true);
}

}  // namespace llmw::fuzz
