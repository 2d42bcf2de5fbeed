// A small command-line parser for llmw's subcommands: `--name value` or
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
  bool is_switch = false;  // takes no value
};

class ParsedFlags {
 public:
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> Get(const std::string& name) const;
  absl::StatusOr<std::string> GetRequired(const std::string& name) const;
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t fallback) const;
  absl::StatusOr<double> GetDouble(const std::string& name, double fallback) const;

 private:
  friend absl::StatusOr<ParsedFlags> ParseFlags(const std::vector<FlagSpec>&,
                                                const std::vector<std::string>&);
  std::map<std::string, std::string> values_;
};

absl::StatusOr<ParsedFlags> ParseFlags(const std::vector<FlagSpec>& specs,
                                       const std::vector<std::string>& args);

// "  --name VALUE   help" lines for a usage message.
std::string FlagsHelp(const std::vector<FlagSpec>& specs);

}  // namespace llmw::cli
