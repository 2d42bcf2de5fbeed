// A small command-line parser for llm-worker and llmw: `--name value` or
// `--name=value`, boolean switches, and a clear error for anything unknown.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace llmw::cli {

struct FlagSpec {
  std::string name;  // without the leading "--"
  std::string help;
  bool is_switch = false;    // takes no value
  bool is_repeated = false;  // may be given several times (GetAll)
};

class ParsedFlags {
 public:
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The last value given.
  std::optional<std::string> Get(const std::string& name) const;
  std::vector<std::string> GetAll(const std::string& name) const;
  absl::StatusOr<std::string> GetRequired(const std::string& name) const;
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t fallback) const;
  absl::StatusOr<double> GetDouble(const std::string& name, double fallback) const;

 private:
  friend absl::StatusOr<ParsedFlags> ParseFlags(const std::vector<FlagSpec>&,
                                                const std::vector<std::string>&,
                                                bool);
  std::map<std::string, std::vector<std::string>> values_;
};

// With `use_environment`, a flag absent from `args` is taken from the
// environment variable LLMW_<NAME> (upper case, '-' as '_'); a repeated
// flag's variable holds comma-separated values.
absl::StatusOr<ParsedFlags> ParseFlags(const std::vector<FlagSpec>& specs,
                                       const std::vector<std::string>& args,
                                       bool use_environment = false);

// "  --name VALUE   help" lines for a usage message.
std::string FlagsHelp(const std::vector<FlagSpec>& specs);

}  // namespace llmw::cli
