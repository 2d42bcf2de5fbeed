// The text rewriting steps of a tokenizer.json that the supported tokenizers use: normalizers
// (Unicode normal forms, Prepend, Replace) and the Metaspace pre-tokenizer. Each applies to one
// run of text between added tokens, as in the `tokenizers` library.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace llmw {

struct HfNormalizerStep {
  enum class Kind { kNfc, kNfd, kNfkc, kNfkd, kPrepend, kReplace };
  Kind kind = Kind::kNfc;
  std::string text;  // kPrepend: what goes in front of a non-empty run; kReplace: the pattern
  std::string with;  // kReplace: what each occurrence of the pattern becomes
};

// `text` with every occurrence of non-empty `pattern` replaced, left to right.
std::string ReplaceAll(std::string_view text, std::string_view pattern, std::string_view with);

// `text` (valid UTF-8) after the steps, in order.
std::string Normalize(std::span<const HfNormalizerStep> steps, std::string_view text);

struct HfMetaspace {
  enum class Prepend { kAlways, kFirst, kNever };
  std::string replacement = "\u2581";
  // Whether a run that does not start with the replacement gets one: always, only the run at
  // the start of the input, or never.
  Prepend prepend = Prepend::kAlways;
  bool split = true;  // split the run before each replacement
};

// The pieces of one run: spaces become the replacement, which is prepended as the scheme says
// (`at_input_start`: the run starts the input); with split, each piece but perhaps the first
// starts with the replacement.
std::vector<std::string> MetaspacePieces(const HfMetaspace& metaspace, std::string_view run,
                                         bool at_input_start);

}  // namespace llmw
