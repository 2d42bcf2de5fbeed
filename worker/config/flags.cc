// Parsing and typed access for llmw's flags.
#include "worker/config/flags.h"

#include <cstdlib>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_cat.h"

namespace llmw::cli {

std::optional<std::string> ParsedFlags::Get(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> ParsedFlags::GetAll(const std::string& name) const {
  const auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<std::string> ParsedFlags::GetRequired(const std::string& name) const {
  std::optional<std::string> value = Get(name);
  if (!value) return absl::InvalidArgumentError(absl::StrCat("missing required flag --", name));
  return *value;
}

absl::StatusOr<int64_t> ParsedFlags::GetInt(const std::string& name, int64_t fallback) const {
  std::optional<std::string> value = Get(name);
  if (!value) return fallback;
  int64_t parsed;
  if (!absl::SimpleAtoi(*value, &parsed)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " expects an integer, got '", *value, "'"));
  }
  return parsed;
}

absl::StatusOr<double> ParsedFlags::GetDouble(const std::string& name, double fallback) const {
  std::optional<std::string> value = Get(name);
  if (!value) return fallback;
  double parsed;
  if (!absl::SimpleAtod(*value, &parsed)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " expects a number, got '", *value, "'"));
  }
  return parsed;
}

absl::StatusOr<ParsedFlags> ParseFlags(const std::vector<FlagSpec>& specs,
                                       const std::vector<std::string>& args,
                                       bool use_environment) {
  ParsedFlags parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (spec->is_switch) {
      if (value) return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      value = "true";
    } else if (!value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      value = args[++i];
    }
    std::vector<std::string>& values = parsed.values_[name];
    if (!spec->is_repeated) values.clear();
    values.push_back(*value);
  }
  if (use_environment) {
    for (const FlagSpec& spec : specs) {
      if (parsed.Has(spec.name)) continue;
      std::string var = "LLMW_" + absl::AsciiStrToUpper(spec.name);
      absl::c_replace(var, '-', '_');
      const char* value = std::getenv(var.c_str());
      if (value == nullptr || *value == '\0') continue;
      if (spec.is_repeated) {
        parsed.values_[spec.name] = absl::StrSplit(value, ',', absl::SkipEmpty());
      } else {
        parsed.values_[spec.name] = {value};
      }
    }
  }
  return parsed;
}

std::string FlagsHelp(const std::vector<FlagSpec>& specs) {
  std::string out;
  for (const FlagSpec& s : specs) {
    std::string left = absl::StrCat("  --", s.name, s.is_switch ? "" : " VALUE");
    if (left.size() < 24) left.resize(24, ' ');
    absl::StrAppend(&out, left, " ", s.help, "\n");
  }
  return out;
}

}  // namespace llmw::cli
