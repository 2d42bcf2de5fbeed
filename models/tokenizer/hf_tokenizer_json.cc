// tokenizer.json → HfBpeSpec, one section at a time.
#include "models/tokenizer/hf_tokenizer_json.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kernels/status_macros.h"
#include "models/tokenizer/hf_json.h"

namespace llmw {
namespace {

using hf_json::Join;
using hf_json::Json;

constexpr size_t kMaxVocabulary = size_t{1} << 24;
constexpr size_t kQuotedRegexChars = 40;

// The "type" of a section object, "" when absent.
std::string TypeOf(const Json& section) {
  const Json* t = hf_json::Fields::Find(section, "type");
  return t != nullptr && t->is_string() ? t->get<std::string>() : std::string();
}

// The steps of a section that may be a Sequence (under `list_key`), flattened.
absl::Status Flatten(const hf_json::Fields& f, const Json& section, std::string_view path,
                     std::string_view list_key,
                     std::vector<std::pair<std::string, const Json*>>* out) {
  if (!section.is_object()) {
    return f.Invalid(path, absl::StrCat("expected an object, got ", section.type_name()));
  }
  if (TypeOf(section) != "Sequence") {
    out->emplace_back(std::string(path), &section);
    return absl::OkStatus();
  }
  const Json* list = hf_json::Fields::Find(section, list_key);
  if (list == nullptr || !list->is_array()) return f.Invalid(Join(path, list_key), "not a list");
  for (size_t i = 0; i < list->size(); ++i) {
    RETURN_IF_ERROR(Flatten(f, (*list)[i], Join(Join(path, list_key), i), list_key, out));
  }
  return absl::OkStatus();
}

class Reader {
 public:
  explicit Reader(std::string_view file) : f_(std::string(file)) {}

  absl::StatusOr<HfBpeSpec> Read(std::string_view text) {
    ASSIGN_OR_RETURN(Json root, hf_json::ParseObject(text, f_.file()));
    ASSIGN_OR_RETURN(const Json* model, f_.Object(root, "model", ""));
    RETURN_IF_ERROR(ReadModel(*model));
    RETURN_IF_ERROR(ReadAddedTokens(root, *hf_json::Fields::Find(*model, "vocab")));
    RETURN_IF_ERROR(ReadMerges(*model));
    if (const Json* n = hf_json::Fields::Find(root, "normalizer"))
      RETURN_IF_ERROR(ReadNormalizer(*n));
    RETURN_IF_ERROR(ReadPreTokenizer(hf_json::Fields::Find(root, "pre_tokenizer")));
    RETURN_IF_ERROR(CheckDecoder(hf_json::Fields::Find(root, "decoder")));
    if (const Json* p = hf_json::Fields::Find(root, "post_processor")) {
      RETURN_IF_ERROR(ReadPostProcessor(*p));
    }
    return std::move(spec_);
  }

 private:
  absl::Status ReadModel(const Json& model) {
    std::string type = TypeOf(model);
    if (type.empty() && hf_json::Fields::Find(model, "merges") != nullptr) type = "BPE";
    if (type == "Unigram" || type == "WordPiece" || type == "WordLevel") {
      return f_.Unsupported("model.type",
                            absl::StrCat("'", type, "' is not supported yet (supported: BPE)"));
    }
    if (type != "BPE") return f_.Invalid("model.type", absl::StrCat("unknown model '", type, "'"));
    if (const Json* d = hf_json::Fields::Find(model, "dropout");
        d != nullptr && !(d->is_number() && d->get<double>() == 0.0)) {
      return f_.Unsupported("model.dropout", "BPE dropout is not supported");
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      ASSIGN_OR_RETURN(std::optional<std::string> affix, f_.OptionalString(model, key, "model"));
      if (affix && !affix->empty()) {
        return f_.Unsupported(Join("model", key), absl::StrCat("'", *affix, "' is not supported"));
      }
    }
    ASSIGN_OR_RETURN(spec_.model.byte_fallback, f_.Bool(model, "byte_fallback", "model", false));
    ASSIGN_OR_RETURN(spec_.model.fuse_unk, f_.Bool(model, "fuse_unk", "model", false));
    ASSIGN_OR_RETURN(spec_.model.ignore_merges, f_.Bool(model, "ignore_merges", "model", false));
    spec_.model.last_duplicate_merge_wins = true;

    ASSIGN_OR_RETURN(const Json* vocab, f_.Object(model, "vocab", "model"));
    for (const auto& [text, id_json] : vocab->items()) {
      ASSIGN_OR_RETURN(int32_t id, f_.Id(id_json, Join("model.vocab", text)));
      RETURN_IF_ERROR(Place(id, text, "model.vocab"));
    }
    ASSIGN_OR_RETURN(std::optional<std::string> unk,
                     f_.OptionalString(model, "unk_token", "model"));
    if (unk) {
      auto it = vocab->find(*unk);
      if (it == vocab->end()) {
        return f_.Invalid("model.unk_token", absl::StrCat("'", *unk, "' is not in model.vocab"));
      }
      spec_.model.unk_id = it->get<int32_t>();
    }
    return absl::OkStatus();
  }

  // Puts `text` at `id`; a model token may not share its id, an added token replaces it.
  absl::Status Place(int32_t id, const std::string& text, std::string_view path) {
    if (static_cast<size_t>(id) >= kMaxVocabulary) {
      return f_.Invalid(path, absl::StrCat("token id ", id, " of '", text, "' is too large"));
    }
    if (static_cast<size_t>(id) >= spec_.tokens.size()) spec_.tokens.resize(id + 1);
    std::string& slot = spec_.tokens[id];
    if (path == "model.vocab" && !slot.empty()) {
      return f_.Invalid(path,
                        absl::StrCat("id ", id, " is given to both '", slot, "' and '", text, "'"));
    }
    slot = text;
    return absl::OkStatus();
  }

  // The ids are the reference's, which does not take them from the file: a token whose content
  // is already known keeps that id, a new one gets the next id after the model's vocabulary and
  // the added tokens before it (the reference warns where the file says otherwise).
  absl::Status ReadAddedTokens(const Json& root, const Json& vocab) {
    const Json* list = hf_json::Fields::Find(root, "added_tokens");
    if (list == nullptr) return absl::OkStatus();
    if (!list->is_array()) return f_.Invalid("added_tokens", "not a list");
    absl::flat_hash_map<std::string, int32_t> added_ids;
    std::optional<int32_t> max_added;
    const auto model_size = static_cast<int32_t>(vocab.size());
    for (size_t i = 0; i < list->size(); ++i) {
      const Json& t = (*list)[i];
      const std::string path = Join("added_tokens", i);
      if (!t.is_object()) return f_.Invalid(path, "not an object");
      HfAddedToken a;
      const Json* id = hf_json::Fields::Find(t, "id");
      if (id == nullptr) return f_.Invalid(Join(path, "id"), "missing");
      RETURN_IF_ERROR(f_.Id(*id, Join(path, "id")).status());
      ASSIGN_OR_RETURN(a.content, f_.String(t, "content", path));
      ASSIGN_OR_RETURN(a.special, f_.Bool(t, "special", path, false));
      ASSIGN_OR_RETURN(a.normalized, f_.Bool(t, "normalized", path, !a.special));
      ASSIGN_OR_RETURN(a.lstrip, f_.Bool(t, "lstrip", path, false));
      ASSIGN_OR_RETURN(a.rstrip, f_.Bool(t, "rstrip", path, false));
      ASSIGN_OR_RETURN(bool single_word, f_.Bool(t, "single_word", path, false));
      if (single_word) {
        return f_.Unsupported(Join(path, "single_word"),
                              absl::StrCat("added token '", a.content, "' has single_word"));
      }
      if (auto it = added_ids.find(a.content); it != added_ids.end()) {
        a.id = it->second;
      } else if (auto m = vocab.find(a.content); m != vocab.end()) {
        a.id = m->get<int32_t>();
      } else {
        a.id = max_added && *max_added >= model_size ? *max_added + 1 : model_size;
      }
      added_ids.try_emplace(a.content, a.id);
      max_added = std::max(max_added.value_or(a.id), a.id);
      RETURN_IF_ERROR(Place(a.id, a.content, path));
      spec_.added.push_back(std::move(a));
    }
    return absl::OkStatus();
  }

  absl::Status ReadMerges(const Json& model) {
    const Json* merges = hf_json::Fields::Find(model, "merges");
    if (merges == nullptr) return absl::OkStatus();
    if (!merges->is_array()) return f_.Invalid("model.merges", "not a list");
    spec_.merges.reserve(merges->size());
    for (size_t r = 0; r < merges->size(); ++r) {
      const Json& m = (*merges)[r];
      if (m.is_string()) {
        // "left right": exactly one space, as the reference splits it.
        const std::string& s = m.get_ref<const std::string&>();
        const size_t space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
          return f_.Invalid(Join("model.merges", r),
                            absl::StrCat("'", s, "' is not two tokens separated by a space"));
        }
        spec_.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        spec_.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        return f_.Invalid(Join("model.merges", r), "expected \"left right\" or [left, right]");
      }
    }
    return absl::OkStatus();
  }

  absl::Status ReadNormalizer(const Json& normalizer) {
    std::vector<std::pair<std::string, const Json*>> steps;
    RETURN_IF_ERROR(Flatten(f_, normalizer, "normalizer", "normalizers", &steps));
    for (const auto& [path, step] : steps) {
      const std::string type = TypeOf(*step);
      HfNormalizerStep s;
      if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
        s.kind = type == "NFC"    ? HfNormalizerStep::Kind::kNfc
                 : type == "NFD"  ? HfNormalizerStep::Kind::kNfd
                 : type == "NFKC" ? HfNormalizerStep::Kind::kNfkc
                                  : HfNormalizerStep::Kind::kNfkd;
      } else if (type == "Prepend") {
        s.kind = HfNormalizerStep::Kind::kPrepend;
        ASSIGN_OR_RETURN(s.text, f_.String(*step, "prepend", path));
      } else if (type == "Replace") {
        s.kind = HfNormalizerStep::Kind::kReplace;
        ASSIGN_OR_RETURN(s.text, ReplacePattern(*step, path));
        ASSIGN_OR_RETURN(s.with, f_.String(*step, "content", path));
      } else {
        return f_.Unsupported(path, absl::StrCat("normalizer '", type, "' is not supported"));
      }
      spec_.normalizer.push_back(std::move(s));
    }
    return absl::OkStatus();
  }

  // The string of a Replace step's {"String": ...} pattern.
  absl::StatusOr<std::string> ReplacePattern(const Json& step, std::string_view path) const {
    ASSIGN_OR_RETURN(const Json* pattern, f_.Object(step, "pattern", path));
    if (hf_json::Fields::Find(*pattern, "Regex") != nullptr) {
      return f_.Unsupported(Join(path, "pattern"), "a Regex pattern is not supported");
    }
    return f_.String(*pattern, "String", Join(path, "pattern"));
  }

  absl::Status ReadPreTokenizer(const Json* pre) {
    std::vector<std::pair<std::string, const Json*>> steps;
    if (pre != nullptr)
      RETURN_IF_ERROR(Flatten(f_, *pre, "pre_tokenizer", "pretokenizers", &steps));
    std::vector<std::string> types;
    for (const auto& [path, step] : steps) types.push_back(TypeOf(*step));
    const std::string shape = absl::StrJoin(types, ", ");
    if (shape.empty()) {
      spec_.byte_level = false;
      return absl::OkStatus();
    }
    if (shape == "Metaspace") {
      spec_.byte_level = false;
      return ReadMetaspace(*steps[0].second, steps[0].first);
    }
    if (shape == "Split") {
      spec_.byte_level = false;
      return CheckSplitIsNoOp(*steps[0].second, steps[0].first);
    }
    spec_.byte_level = true;
    const auto& [last_path, last] = steps.back();
    if (types.back() == "ByteLevel") {
      ASSIGN_OR_RETURN(bool prefix_space, f_.Bool(*last, "add_prefix_space", last_path, false));
      if (prefix_space) return f_.Unsupported(last_path, "add_prefix_space is not supported");
    }
    ASSIGN_OR_RETURN(bool use_regex, f_.Bool(*last, "use_regex", last_path, true));
    if (shape == "ByteLevel") {
      if (use_regex) spec_.split = PreTokenizer::kGpt2;
      return absl::OkStatus();
    }
    if (shape == "Split, ByteLevel" && !use_regex)
      return ReadSplit(*steps[0].second, steps[0].first);
    if (shape == "Digits, ByteLevel" && use_regex) {
      ASSIGN_OR_RETURN(bool single,
                       f_.Bool(*steps[0].second, "individual_digits", steps[0].first, false));
      if (single) {
        spec_.split = PreTokenizer::kSmolLm;
        return absl::OkStatus();
      }
    }
    return f_.Unsupported("pre_tokenizer",
                          absl::StrCat("the sequence [", shape, "] is not supported"));
  }

  absl::Status ReadSplit(const Json& split, const std::string& path) {
    ASSIGN_OR_RETURN(const Json* pattern, f_.Object(split, "pattern", path));
    ASSIGN_OR_RETURN(std::optional<std::string> regex,
                     f_.OptionalString(*pattern, "Regex", Join(path, "pattern")));
    if (!regex) return f_.Unsupported(Join(path, "pattern"), "only Regex patterns are supported");
    ASSIGN_OR_RETURN(std::string behavior, f_.String(split, "behavior", path));
    ASSIGN_OR_RETURN(bool invert, f_.Bool(split, "invert", path, false));
    if (behavior != "Isolated" || invert) {
      return f_.Unsupported(path, absl::StrCat("behavior '", behavior, "'",
                                               invert ? " inverted" : "", " is not supported"));
    }
    spec_.split = PreTokenizerFromRegex(*regex);
    if (!spec_.split) {
      const bool cut = regex->size() > kQuotedRegexChars;
      return f_.Invalid(
          Join(path, "pattern.Regex"),
          absl::StrCat("unknown pre-tokenizer regex '", regex->substr(0, kQuotedRegexChars),
                       cut ? "...'" : "'", " (known: those of GPT-2, Llama 3, Qwen2)"));
    }
    // The published (?i:...) contractions fold Unicode case.
    spec_.unicode_case_contractions = *spec_.split != PreTokenizer::kGpt2;
    return absl::OkStatus();
  }

  // Gemma's files split on " " after a normalizer that replaced every " ": the split never
  // fires, so each run stays one word.
  absl::Status CheckSplitIsNoOp(const Json& split, const std::string& path) {
    ASSIGN_OR_RETURN(const Json* pattern, f_.Object(split, "pattern", path));
    ASSIGN_OR_RETURN(std::optional<std::string> text,
                     f_.OptionalString(*pattern, "String", Join(path, "pattern")));
    bool removed = false;
    if (text && !text->empty()) {
      for (const HfNormalizerStep& step : spec_.normalizer) {
        const bool replace = step.kind == HfNormalizerStep::Kind::kReplace;
        if (replace && step.with.find(*text) != std::string::npos) {
          removed = false;
        } else if (replace && step.text == *text) {
          removed = true;
        } else if (!replace) {
          removed = false;  // Unicode normalization or a prefix could bring the pattern back
        }
      }
    }
    if (!removed) {
      return f_.Unsupported(path,
                            "a Split pre-tokenizer is supported only after a normalizer "
                            "that replaces every occurrence of its String pattern");
    }
    return absl::OkStatus();
  }

  absl::Status ReadMetaspace(const Json& m, const std::string& path) {
    HfMetaspace meta;
    ASSIGN_OR_RETURN(meta.replacement, f_.String(m, "replacement", path));
    ASSIGN_OR_RETURN(std::optional<std::string> scheme,
                     f_.OptionalString(m, "prepend_scheme", path));
    if (scheme) {
      if (*scheme == "always") {
        meta.prepend = HfMetaspace::Prepend::kAlways;
      } else if (*scheme == "first") {
        meta.prepend = HfMetaspace::Prepend::kFirst;
      } else if (*scheme == "never") {
        meta.prepend = HfMetaspace::Prepend::kNever;
      } else {
        return f_.Invalid(Join(path, "prepend_scheme"), absl::StrCat("unknown '", *scheme, "'"));
      }
    } else {  // files before prepend_scheme: add_prefix_space
      ASSIGN_OR_RETURN(bool prefix, f_.Bool(m, "add_prefix_space", path, true));
      meta.prepend = prefix ? HfMetaspace::Prepend::kAlways : HfMetaspace::Prepend::kNever;
    }
    ASSIGN_OR_RETURN(meta.split, f_.Bool(m, "split", path, true));
    spec_.metaspace = std::move(meta);
    return absl::OkStatus();
  }

  // The decoder is not run (token texts decode by the model kind), but must be one that does
  // what that decoding does.
  absl::Status CheckDecoder(const Json* decoder) const {
    if (decoder == nullptr) return f_.Unsupported("decoder", "a missing decoder is not supported");
    std::vector<std::pair<std::string, const Json*>> steps;
    RETURN_IF_ERROR(Flatten(f_, *decoder, "decoder", "decoders", &steps));
    for (const auto& [path, step] : steps) {
      const std::string type = TypeOf(*step);
      const Json* content = hf_json::Fields::Find(*step, "content");
      const bool to_space = content != nullptr && *content == " ";
      bool ok;
      if (spec_.byte_level) {
        ok = type == "ByteLevel";
      } else if (type == "Replace") {
        ASSIGN_OR_RETURN(const std::string pattern, ReplacePattern(*step, path));
        ok = to_space && pattern == (spec_.metaspace ? spec_.metaspace->replacement : "\u2581");
      } else {
        ok = type == "ByteFallback" || type == "Fuse" || type == "Metaspace" ||
             (type == "Strip" && to_space);
      }
      if (!ok) {
        return f_.Unsupported(path, absl::StrCat("decoder '", type, "' is not supported with ",
                                                 spec_.byte_level ? "byte-level" : "SentencePiece",
                                                 " style pre-tokenization"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ReadPostProcessor(const Json& post) {
    std::vector<std::pair<std::string, const Json*>> steps;
    RETURN_IF_ERROR(Flatten(f_, post, "post_processor", "processors", &steps));
    for (const auto& [path, step] : steps) {
      const std::string type = TypeOf(*step);
      if (type == "ByteLevel") continue;
      if (type != "TemplateProcessing") {
        return f_.Unsupported(path, absl::StrCat("post-processor '", type, "' is not supported"));
      }
      RETURN_IF_ERROR(ReadTemplate(*step, path));
    }
    return absl::OkStatus();
  }

  // TemplateProcessing.single: the special tokens before $A go first, those after it last.
  absl::Status ReadTemplate(const Json& t, const std::string& path) {
    const Json* single = hf_json::Fields::Find(t, "single");
    if (single == nullptr || !single->is_array())
      return f_.Invalid(Join(path, "single"), "not a list");
    ASSIGN_OR_RETURN(const Json* specials, f_.Object(t, "special_tokens", path));
    std::vector<int32_t>* side = &spec_.prefix;
    for (size_t i = 0; i < single->size(); ++i) {
      const Json& piece = (*single)[i];
      const std::string piece_path = Join(Join(path, "single"), i);
      if (hf_json::Fields::Find(piece, "Sequence") != nullptr) {
        side = &spec_.suffix;
        continue;
      }
      ASSIGN_OR_RETURN(const Json* token, f_.Object(piece, "SpecialToken", piece_path));
      ASSIGN_OR_RETURN(std::string name, f_.String(*token, "id", Join(piece_path, "SpecialToken")));
      const Json* entry = hf_json::Fields::Find(*specials, name);
      const std::string entry_path = Join(Join(path, "special_tokens"), name);
      if (entry == nullptr) return f_.Invalid(entry_path, "missing");
      const Json* ids = hf_json::Fields::Find(*entry, "ids");
      if (ids == nullptr || !ids->is_array())
        return f_.Invalid(Join(entry_path, "ids"), "not a list");
      for (size_t k = 0; k < ids->size(); ++k) {
        ASSIGN_OR_RETURN(int32_t id, f_.Id((*ids)[k], Join(Join(entry_path, "ids"), k)));
        side->push_back(id);
      }
    }
    return absl::OkStatus();
  }

  hf_json::Fields f_;
  HfBpeSpec spec_;
};

}  // namespace

absl::StatusOr<HfBpeSpec> HfBpeSpecFromJson(std::string_view text, std::string_view file) {
  return Reader(file).Read(text);
}

}  // namespace llmw
