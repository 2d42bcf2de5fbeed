// What a request asks its output to be (free text, any JSON object, a JSON Schema's values, or a
// grammar's strings) and the cache that compiles each format once for every request using it.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "worker/structured/grammar.h"

namespace llmw::structured {

struct ResponseFormat {
  enum class Kind : uint8_t { kJsonObject, kJsonSchema, kGrammar };
  Kind kind = Kind::kJsonObject;
  std::string text;  // the schema's JSON text or the grammar's; empty for kJsonObject
};

// The grammar of `format`. INVALID_ARGUMENT names the field ("json_schema", "grammar") and where
// the problem is (line:column, or a JSON Pointer into the schema).
absl::StatusOr<std::shared_ptr<const Grammar>> CompileResponseFormat(const ResponseFormat& format);

// Compiled grammars of the most recently used formats, keyed by a hash of the format's text, so
// that requests repeating a schema compile it once. Thread-safe. Formats that fail to compile are
// not kept; their errors come back each time.
class GrammarCache {
 public:
  static constexpr size_t kDefaultCapacity = 64;

  explicit GrammarCache(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  absl::StatusOr<std::shared_ptr<const Grammar>> Get(const ResponseFormat& format);

  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
  };
  Stats stats() const;

 private:
  // Two 64-bit hashes of (kind, text), seeded per process: the cache keeps no copy of texts of up
  // to a megabyte each, and a 128-bit collision is not a practical concern.
  using Key = std::pair<uint64_t, uint64_t>;
  using Entry = std::pair<Key, std::shared_ptr<const Grammar>>;

  static Key KeyOf(const ResponseFormat& format);

  const size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recently used first
  absl::flat_hash_map<Key, std::list<Entry>::iterator> index_;
  Stats stats_;
};

}  // namespace llmw::structured
