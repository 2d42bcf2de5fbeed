// Reads the files of a Hugging Face model directory that make its tokenizer.
#include "models/tokenizer/hf_tokenizer.h"

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/tokenizer/hf_bpe_tokenizer.h"
#include "models/tokenizer/hf_json.h"
#include "models/tokenizer/hf_tokenizer_json.h"

namespace llmw {
namespace {

using hf_json::Join;
using hf_json::Json;

// The file's contents, or nullopt when it does not exist.
absl::StatusOr<std::optional<std::string>> ReadOptional(const std::string& path) {
  absl::StatusOr<std::string> text = hf_json::ReadFile(path);
  if (absl::IsNotFound(text.status())) return std::optional<std::string>();
  if (!text.ok()) return text.status();
  return std::optional<std::string>(*std::move(text));
}

// A token named by tokenizer_config.json: a string or {"content": ...}; nullopt when null.
absl::StatusOr<std::optional<int32_t>> ConfigToken(const hf_json::Fields& f, const Json& config,
                                                   std::string_view key, const HfBpeSpec& spec,
                                                   const std::string& tokenizer_path) {
  const Json* v = hf_json::Fields::Find(config, key);
  if (v == nullptr) return std::optional<int32_t>();
  std::string name;
  if (v->is_object()) {
    ASSIGN_OR_RETURN(name, f.String(*v, "content", key));
  } else if (v->is_string()) {
    name = v->get<std::string>();
  } else {
    return f.Invalid(key,
                     absl::StrCat("expected a string or {\"content\": ...}, got ", v->type_name()));
  }
  // The last entry with the text, as the tokenizer's own look-up.
  for (size_t id = spec.tokens.size(); id-- > 0;) {
    if (spec.tokens[id] == name) return std::optional<int32_t>(static_cast<int32_t>(id));
  }
  return f.Invalid(key, absl::StrCat("'", name, "' is not a token of ", tokenizer_path));
}

absl::Status ReadChatTemplates(const hf_json::Fields& f, const Json& config,
                               HfTokenizerFiles* files) {
  const Json* t = hf_json::Fields::Find(config, "chat_template");
  if (t == nullptr) return absl::OkStatus();
  if (t->is_string()) {
    files->chat_template = t->get<std::string>();
    return absl::OkStatus();
  }
  if (!t->is_array()) {
    return f.Invalid("chat_template",
                     absl::StrCat("expected a string or a list, got ", t->type_name()));
  }
  for (size_t i = 0; i < t->size(); ++i) {
    const std::string path = Join("chat_template", i);
    ASSIGN_OR_RETURN(std::string name, f.String((*t)[i], "name", path));
    ASSIGN_OR_RETURN(std::string text, f.String((*t)[i], "template", path));
    files->named_chat_templates.emplace_back(std::move(name), std::move(text));
  }
  if (files->named_chat_templates.empty()) return absl::OkStatus();
  auto it = std::find_if(files->named_chat_templates.begin(), files->named_chat_templates.end(),
                         [](const auto& nt) { return nt.first == "default"; });
  if (it == files->named_chat_templates.end()) it = files->named_chat_templates.begin();
  files->chat_template = it->second;
  return absl::OkStatus();
}

// Applies tokenizer_config.json (when there is one) to `spec` and `files`.
absl::Status ReadConfig(const std::string& dir, const std::string& tokenizer_path, HfBpeSpec* spec,
                        HfTokenizerFiles* files) {
  const std::string path = dir + "/tokenizer_config.json";
  ASSIGN_OR_RETURN(std::optional<std::string> text, ReadOptional(path));
  if (!text) return absl::OkStatus();
  ASSIGN_OR_RETURN(Json config, hf_json::ParseObject(*text, path));
  const hf_json::Fields f(path);
  ASSIGN_OR_RETURN(std::optional<int32_t> bos,
                   ConfigToken(f, config, "bos_token", *spec, tokenizer_path));
  ASSIGN_OR_RETURN(spec->eos_id, ConfigToken(f, config, "eos_token", *spec, tokenizer_path));
  ASSIGN_OR_RETURN(spec->pad_id, ConfigToken(f, config, "pad_token", *spec, tokenizer_path));
  if (bos) spec->bos_id = bos;
  ASSIGN_OR_RETURN(bool add_bos, f.Bool(config, "add_bos_token", "", false));
  ASSIGN_OR_RETURN(bool add_eos, f.Bool(config, "add_eos_token", "", false));
  if (add_bos && !spec->bos_id) return f.Invalid("add_bos_token", "true without a bos_token");
  if (add_eos && !spec->eos_id) return f.Invalid("add_eos_token", "true without an eos_token");
  if (add_bos && (spec->prefix.empty() || spec->prefix.front() != *spec->bos_id)) {
    spec->prefix.insert(spec->prefix.begin(), *spec->bos_id);
  }
  if (add_eos && (spec->suffix.empty() || spec->suffix.back() != *spec->eos_id)) {
    spec->suffix.push_back(*spec->eos_id);
  }
  return ReadChatTemplates(f, config, files);
}

}  // namespace

absl::StatusOr<std::vector<int32_t>> ReadGenerationEosIds(const std::string& model_directory) {
  const std::string path = model_directory + "/generation_config.json";
  std::vector<int32_t> ids;
  ASSIGN_OR_RETURN(std::optional<std::string> text, ReadOptional(path));
  if (!text) return ids;
  ASSIGN_OR_RETURN(Json config, hf_json::ParseObject(*text, path));
  const hf_json::Fields f(path);
  const Json* eos = hf_json::Fields::Find(config, "eos_token_id");
  if (eos == nullptr) return ids;
  if (!eos->is_array()) {
    ASSIGN_OR_RETURN(int32_t id, f.Id(*eos, "eos_token_id"));
    ids.push_back(id);
    return ids;
  }
  for (size_t i = 0; i < eos->size(); ++i) {
    ASSIGN_OR_RETURN(int32_t id, f.Id((*eos)[i], Join("eos_token_id", i)));
    ids.push_back(id);
  }
  return ids;
}

absl::StatusOr<HfTokenizerFiles> LoadHfTokenizer(const std::string& model_directory) {
  const std::string tokenizer_path = model_directory + "/tokenizer.json";
  ASSIGN_OR_RETURN(std::string text, hf_json::ReadFile(tokenizer_path));
  ASSIGN_OR_RETURN(HfBpeSpec spec, HfBpeSpecFromJson(text, tokenizer_path));
  text.clear();
  text.shrink_to_fit();

  HfTokenizerFiles files;
  // Without tokenizer_config.json, a template that adds one token names BOS.
  if (spec.prefix.size() == 1) spec.bos_id = spec.prefix[0];
  RETURN_IF_ERROR(ReadConfig(model_directory, tokenizer_path, &spec, &files));
  if (files.chat_template.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> jinja,
                     ReadOptional(model_directory + "/chat_template.jinja"));
    if (jinja) files.chat_template = *std::move(jinja);
  }

  ASSIGN_OR_RETURN(std::vector<int32_t> generation_eos, ReadGenerationEosIds(model_directory));
  for (int32_t id : generation_eos) {
    if (static_cast<size_t>(id) >= spec.tokens.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(model_directory, "/generation_config.json: eos_token_id: ", id,
                       " is out of range (vocabulary size ", spec.tokens.size(), ")"));
    }
  }
  if (spec.eos_id) files.end_of_generation_ids.push_back(*spec.eos_id);
  for (int32_t id : generation_eos) {
    if (std::find(files.end_of_generation_ids.begin(), files.end_of_generation_ids.end(), id) ==
        files.end_of_generation_ids.end()) {
      files.end_of_generation_ids.push_back(id);
    }
  }
  spec.end_of_generation_ids = generation_eos;

  absl::StatusOr<std::unique_ptr<HfBpeTokenizer>> tokenizer =
      HfBpeTokenizer::Create(std::move(spec));
  if (!tokenizer.ok()) {
    return absl::Status(tokenizer.status().code(),
                        absl::StrCat(tokenizer_path, ": ", tokenizer.status().message()));
  }
  files.tokenizer = *std::move(tokenizer);
  return files;
}

}  // namespace llmw
