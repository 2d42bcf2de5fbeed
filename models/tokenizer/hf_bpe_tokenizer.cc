// The tokenizer.json pipeline: added tokens, normalization, pre-tokenization, BPE, template.
#include "models/tokenizer/hf_bpe_tokenizer.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/tokenizer/byte_unicode.h"
#include "models/tokenizer/unicode.h"

namespace llmw {
namespace {

// The byte a `<0xXX>` token stands for.
std::optional<char> ByteOfToken(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return std::nullopt;
  int value = 0;
  for (char c : text.substr(3, 2)) {
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                             : -1;
    if (digit < 0) return std::nullopt;
    value = value * 16 + digit;
  }
  return static_cast<char>(value);
}

absl::Status CheckIds(std::span<const int32_t> ids, size_t vocab_size, std::string_view what) {
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(what), " token id ", id,
                                                     " is out of range (vocabulary size ",
                                                     vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<HfBpeTokenizer>> HfBpeTokenizer::Create(HfBpeSpec spec) {
  std::unique_ptr<HfBpeTokenizer> t(new HfBpeTokenizer());
  RETURN_IF_ERROR(t->Init(std::move(spec)));
  return t;
}

absl::Status HfBpeTokenizer::Init(HfBpeSpec s) {
  const size_t n = s.tokens.size();
  std::vector<TokenType> types(n, TokenType::kNormal);
  for (size_t i = 0; i < n; ++i) {
    if (s.tokens[i].empty()) types[i] = TokenType::kUnused;
    if (!s.byte_level && s.model.byte_fallback && ByteOfToken(s.tokens[i])) {
      types[i] = TokenType::kByte;
    }
  }
  for (const HfAddedToken& a : s.added) {
    RETURN_IF_ERROR(CheckIds({&a.id, 1}, n, absl::StrCat("added token '", a.content, "':")));
    types[a.id] = a.special ? TokenType::kControl : TokenType::kUserDefined;
    if (!a.normalized) {
      raw_added_.Add(a);
      continue;
    }
    // Found in normalized text as its own normalized content, as in the reference.
    HfAddedToken normalized = a;
    normalized.content = Normalize(s.normalizer, a.content);
    normalized_added_.Add(normalized);
  }
  raw_added_.Index();
  normalized_added_.Index();
  RETURN_IF_ERROR(CheckIds(s.prefix, n, "template"));
  RETURN_IF_ERROR(CheckIds(s.suffix, n, "template"));
  RETURN_IF_ERROR(CheckIds(s.end_of_generation_ids, n, "end-of-generation"));
  std::vector<std::optional<int32_t>> end_ids = {s.eos_id};
  end_ids.insert(end_ids.end(), s.end_of_generation_ids.begin(), s.end_of_generation_ids.end());
  const std::string space = s.metaspace ? s.metaspace->replacement : "\u2581";
  RETURN_IF_ERROR(table_.Build(
      {std::move(s.tokens),
       std::move(types),
       {{"BOS", s.bos_id}, {"EOS", s.eos_id}, {"padding", s.pad_id}, {"unknown", s.model.unk_id}},
       std::move(end_ids),
       [&](TokenType type, std::string_view text) {
         std::string bytes;
         if (s.byte_level) {
           AppendUnicodeAsBytes(text, &bytes);
         } else if (type == TokenType::kByte) {
           bytes.push_back(*ByteOfToken(text));
         } else {
           bytes = ReplaceAll(text, space, " ");
         }
         return std::optional<std::string>(std::move(bytes));
       },
       // Byte-level added tokens stand for their text, as the reference's decoder leaves them
       // (but for Latin-1 letters, which it reads as bytes).
       /*decode_all=*/!s.byte_level}));
  s.model.byte_level = s.byte_level;
  model_.Init(&table_, s.model);
  for (size_t r = 0; r < s.merges.size(); ++r) {
    const auto& [left, right] = s.merges[r];
    if (absl::Status st = model_.AddMerge(left, right); !st.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("merge ", r, " '", left, " ", right, "': ", st.message()));
    }
  }
  normalizer_ = std::move(s.normalizer);
  byte_level_ = s.byte_level;
  split_ = s.split;
  unicode_case_contractions_ = s.unicode_case_contractions;
  metaspace_ = std::move(s.metaspace);
  prefix_ = std::move(s.prefix);
  suffix_ = std::move(s.suffix);
  bos_id_ = s.bos_id;
  eos_id_ = s.eos_id;
  return absl::OkStatus();
}

std::vector<int32_t> HfBpeTokenizer::Encode(std::string_view text, bool add_bos,
                                            bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + prefix_.size() + suffix_.size());
  if (add_bos) out.insert(out.end(), prefix_.begin(), prefix_.end());
  std::string cleaned;
  if (CleanUtf8ForEncoding(text, &cleaned)) text = cleaned;
  raw_added_.Split(
      text, parse_special,
      [&](std::string_view run, size_t offset) {
        EncodeRun(run, offset == 0, parse_special, &out);
      },
      [&](int32_t id) { out.push_back(id); });
  if (add_bos) out.insert(out.end(), suffix_.begin(), suffix_.end());
  return out;
}

void HfBpeTokenizer::EncodeRun(std::string_view run, bool at_input_start, bool parse_special,
                               std::vector<int32_t>* out) const {
  const std::string normalized = Normalize(normalizer_, run);
  normalized_added_.Split(
      normalized, parse_special,
      [&](std::string_view piece, size_t offset) {
        EncodeNormalized(piece, at_input_start && offset == 0, out);
      },
      [&](int32_t id) { out->push_back(id); });
}

void HfBpeTokenizer::EncodeNormalized(std::string_view text, bool at_input_start,
                                      std::vector<int32_t>* out) const {
  if (metaspace_) {
    for (const std::string& piece : MetaspacePieces(*metaspace_, text, at_input_start)) {
      model_.EncodeWord(piece, out);
    }
  } else if (split_) {
    for (std::string_view word : PreTokenize(*split_, text, unicode_case_contractions_)) {
      model_.EncodeWord(word, out);
    }
  } else {
    model_.EncodeWord(text, out);
  }
}

}  // namespace llmw
