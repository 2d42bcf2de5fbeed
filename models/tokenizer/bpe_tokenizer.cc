// Byte-level BPE: vocabulary checks, special-token partition, pre-tokenized merging, decoding.
#include "models/tokenizer/bpe_tokenizer.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/tokenizer/byte_unicode.h"
#include "models/tokenizer/unicode.h"

namespace llmw {

absl::StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::Create(BpeVocab vocab) {
  std::unique_ptr<BpeTokenizer> t(new BpeTokenizer());
  RETURN_IF_ERROR(t->Init(std::move(vocab)));
  return t;
}

absl::Status BpeTokenizer::Init(BpeVocab v) {
  RETURN_IF_ERROR(table_.Build({std::move(v.tokens),
                                std::move(v.types),
                                {{"BOS", v.bos_id},
                                 {"EOS", v.eos_id},
                                 {"EOT", v.eot_id},
                                 {"EOM", v.eom_id},
                                 {"padding", v.pad_id},
                                 {"unknown", v.unk_id}},
                                {v.eos_id, v.eot_id, v.eom_id},
                                [](TokenType, std::string_view text) {
                                  std::string bytes;
                                  AppendUnicodeAsBytes(text, &bytes);
                                  return std::optional<std::string>(std::move(bytes));
                                }}));
  // Llama 3 vocabularies emit a piece that is itself a token directly (ignore_merges).
  model_.Init(
      &table_,
      {.byte_level = true, .ignore_merges = v.pre == PreTokenizer::kLlama3, .unk_id = v.unk_id});
  RETURN_IF_ERROR(AddMerges(v.merges));
  pre_ = v.pre;
  bos_id_ = v.bos_id;
  eos_id_ = v.eos_id;
  add_bos_ = v.add_bos;
  add_eos_ = v.add_eos;
  return absl::OkStatus();
}

absl::Status BpeTokenizer::AddMerges(const std::vector<std::string>& merges) {
  for (size_t r = 0; r < merges.size(); ++r) {
    const std::string& m = merges[r];
    const size_t space = m.find(' ', 1);
    if (space == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("merge ", r, " '", m, "' is not two tokens separated by a space"));
    }
    const std::string_view left(m.data(), space), right(m.data() + space + 1, m.size() - space - 1);
    if (absl::Status s = model_.AddMerge(left, right); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("merge ", r, " '", m, "': ", s.message()));
    }
  }
  return absl::OkStatus();
}

std::vector<int32_t> BpeTokenizer::Encode(std::string_view text, bool add_bos,
                                          bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos && add_bos_ && bos_id_) out.push_back(*bos_id_);
  table_.specials().Partition(
      text, parse_special, [&](std::string_view raw) { EncodeRaw(raw, &out); },
      [&](int32_t id) { out.push_back(id); });
  if (add_bos && add_eos_ && eos_id_) out.push_back(*eos_id_);
  return out;
}

void BpeTokenizer::EncodeRaw(std::string_view text, std::vector<int32_t>* out) const {
  std::string cleaned;
  if (CleanUtf8ForEncoding(text, &cleaned)) text = cleaned;
  for (std::string_view word : PreTokenize(pre_, text)) model_.EncodeWord(word, out);
}

}  // namespace llmw
