// Building the token table from a vocabulary and answering from it.
#include "models/tokenizer/token_table.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace llmw {
namespace {

constexpr std::string_view kEndOfTurnTexts[] = {"<|im_end|>", "<|endoftext|>", "<|eot_id|>",
                                                "<|end|>",    "<end_of_turn>", "<|eom_id|>"};

}  // namespace

absl::Status TokenTable::Build(TokenTableSpec spec) {
  const size_t n = spec.texts.size();
  if (n == 0 || n > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat("bad vocabulary size ", n));
  }
  if (!spec.types.empty() && spec.types.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.types.size(), " token types for ", n, " tokens"));
  }
  for (auto [name, id] : spec.named_ids) {
    if (id && (*id < 0 || static_cast<size_t>(*id) >= n)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " token id ", *id, " is out of range (vocabulary size ", n, ")"));
    }
  }
  texts_ = std::move(spec.texts);
  decoded_.resize(n);
  render_.resize(n, Render::kNever);
  end_of_generation_.assign(n, 0);
  ids_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const auto id = static_cast<int32_t>(i);
    const TokenType type = spec.types.empty() ? TokenType::kNormal : spec.types[i];
    const std::string& text = texts_[i];
    ids_.insert_or_assign(text, id);  // on duplicates the last one wins, as in the reference
    auto special_text = [&] {
      return spec.decode_all ? spec.decode(type, text).value_or(text) : text;
    };
    switch (type) {
      case TokenType::kControl:
      case TokenType::kUnknown:
        decoded_[i] = special_text();
        render_[i] = Render::kIfSpecial;
        specials_.Add(id, text, /*control=*/true);
        break;
      case TokenType::kUserDefined:
        decoded_[i] = special_text();
        render_[i] = Render::kAlways;
        specials_.Add(id, text, /*control=*/false);
        break;
      case TokenType::kUnused:
        break;
      default:
        if (std::optional<std::string> bytes = spec.decode(type, text)) {
          decoded_[i] = std::move(*bytes);
          render_[i] = Render::kAlways;
        }
    }
    if (type == TokenType::kControl &&
        std::find(std::begin(kEndOfTurnTexts), std::end(kEndOfTurnTexts), text) !=
            std::end(kEndOfTurnTexts)) {
      end_of_generation_[i] = 1;
    }
  }
  for (std::optional<int32_t> id : spec.end_of_generation_ids) {
    if (id) end_of_generation_[*id] = 1;
  }
  specials_.Index();
  return absl::OkStatus();
}

std::optional<int32_t> TokenTable::Find(std::string_view text) const {
  auto it = ids_.find(absl::string_view(text.data(), text.size()));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::string TokenTable::TokenText(int32_t id) const {
  if (id < 0 || id >= size()) return "";
  return decoded_[id];
}

std::string TokenTable::Decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || id >= size()) continue;
    if (render_[id] == Render::kAlways || (render_[id] == Render::kIfSpecial && render_special)) {
      out += decoded_[id];
    }
  }
  return out;
}

bool TokenTable::IsEndOfGeneration(int32_t id) const {
  return id >= 0 && id < size() && end_of_generation_[id];
}

}  // namespace llmw
