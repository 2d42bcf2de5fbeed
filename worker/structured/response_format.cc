// Compiling response formats to grammars, and the cache of compiled ones.
#include "worker/structured/response_format.h"

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "worker/structured/json_grammar.h"
#include "worker/structured/json_schema.h"

namespace llmw::structured {
namespace {

absl::Status Prefixed(const char* field, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(field, ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Grammar>> CompileResponseFormat(const ResponseFormat& format) {
  switch (format.kind) {
    case ResponseFormat::Kind::kJsonObject:
      return ParseGrammar(kJsonObjectGrammar);
    case ResponseFormat::Kind::kJsonSchema: {
      absl::StatusOr<std::string> grammar = JsonSchemaToGrammar(format.text);
      if (!grammar.ok()) return grammar.status();  // already names json_schema and the pointer
      absl::StatusOr<std::shared_ptr<const Grammar>> compiled = ParseGrammar(*grammar);
      if (!compiled.ok()) {
        return Prefixed("json_schema compiles to a grammar beyond the limits", compiled.status());
      }
      return compiled;
    }
    case ResponseFormat::Kind::kGrammar:
      return ParseGrammar(format.text);  // its errors begin with "grammar: "
  }
  return absl::InvalidArgumentError("response_format: unknown kind");
}

GrammarCache::Key GrammarCache::KeyOf(const ResponseFormat& format) {
  const auto kind = static_cast<uint8_t>(format.kind);
  return {absl::HashOf(kind, format.text), absl::HashOf(format.text, kind, format.text.size())};
}

absl::StatusOr<std::shared_ptr<const Grammar>> GrammarCache::Get(const ResponseFormat& format) {
  const Key key = KeyOf(format);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      ++stats_.hits;
      return it->second->second;
    }
    ++stats_.misses;
  }
  // Compiled outside the lock: a large schema does not hold up requests for cached ones.
  absl::StatusOr<std::shared_ptr<const Grammar>> grammar = CompileResponseFormat(format);
  if (!grammar.ok()) return grammar.status();
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) return it->second->second;
  lru_.emplace_front(key, *grammar);
  index_[key] = lru_.begin();
  if (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return grammar;
}

GrammarCache::Stats GrammarCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace llmw::structured
