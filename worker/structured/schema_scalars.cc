// Strings (lengths, pattern, format) and numbers (bounds, multipleOf 1).
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "worker/structured/integer_range.h"
#include "worker/structured/json_schema.h"
#include "worker/structured/regex_pattern.h"
#include "worker/structured/schema_compiler.h"

namespace llmw::structured {
namespace {

constexpr const char* kBoundNames[] = {"minimum", "exclusiveMinimum", "maximum",
                                       "exclusiveMaximum"};
constexpr double kBeyondGenerated = 1e16;  // no generated number reads as more than this

bool IsLower(std::string_view name) { return name == "minimum" || name == "exclusiveMinimum"; }
bool IsExclusive(std::string_view name) { return name.substr(0, 9) == "exclusive"; }

// A whole number, clamped to what int64 holds with room to add or subtract a little.
int64_t Clamp(double d) {
  constexpr double kLimit = 1e17;
  return static_cast<int64_t>(std::max(-kLimit, std::min(kLimit, d)));
}

// The JSON number as a clamped whole number, rounded up or down.
int64_t Rounded(const SchemaJson& v, bool up) {
  if (v.is_number_unsigned()) return Clamp(static_cast<double>(v.get<uint64_t>()));
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    return std::max<int64_t>(-100'000'000'000'000'000,
                             std::min<int64_t>(i, 100'000'000'000'000'000));
  }
  const double d = v.get<double>();
  return Clamp(up ? std::ceil(d) : std::floor(d));
}

}  // namespace

absl::Status SchemaCompiler::CompileString(uint32_t rule, const SchemaView& view) {
  absl::StatusOr<std::optional<uint64_t>> min_length = Count(view, "minLength");
  if (!min_length.ok()) return min_length.status();
  absl::StatusOr<std::optional<uint64_t>> max_length = Count(view, "maxLength");
  if (!max_length.ok()) return max_length.status();
  const Keyword* pattern = view.Find("pattern");
  const Keyword* format = view.Find("format");
  const Keyword* source = format != nullptr ? format : pattern;
  if (source != nullptr) {
    if (!source->value->is_string()) return SchemaError(source->pointer, "must be a string");
    std::string_view text = source->value->get_ref<const std::string&>();
    if (format != nullptr) {
      if (pattern != nullptr) {
        return SchemaError(pattern->pointer, "pattern together with format is not supported");
      }
      const std::string_view name = text;
      text = FormatPattern(name);
      if (text.empty()) {
        return SchemaError(format->pointer, absl::StrCat("format \"", std::string(name),
                                                         "\" is not supported (supported: ",
                                                         kSupportedFormats, ")"));
      }
    }
    absl::StatusOr<PatternRule> compiled = CompilePattern(text, builder_, chars_);
    if (!compiled.ok())
      return SchemaError(source->pointer, std::string(compiled.status().message()));
    // The pattern's strings must all have allowed lengths: a grammar cannot intersect a length
    // bound with a pattern in general.
    if (*min_length && **min_length > compiled->min_length) {
      return SchemaError(view.Find("minLength")->pointer,
                         absl::StrCat("minLength beside a pattern or format is only supported "
                                      "when all its matches are long enough (the shortest has ",
                                      compiled->min_length, " characters)"));
    }
    if (*max_length && **max_length < compiled->max_length) {
      return SchemaError(view.Find("maxLength")->pointer,
                         "maxLength beside a pattern or format is only supported when all its "
                         "matches are short enough; bound the pattern's repetitions instead");
    }
    builder_.Add(rule, {GrammarItem::Literal("\""), GrammarItem::Rule(compiled->rule),
                        GrammarItem::Literal("\"")});
    return absl::OkStatus();
  }
  const uint64_t lo = min_length->value_or(0);
  uint64_t hi = max_length->value_or(kUnboundedLength);
  if (lo > hi) {
    Empty(view.Find("maxLength")->pointer, "minLength exceeds maxLength");
    return absl::OkStatus();
  }
  if (lo > kMaxExactCount) {
    return SchemaError(view.Find("minLength")->pointer,
                       absl::StrCat("minLength over ", kMaxExactCount, " is not supported"));
  }
  if (lo == 0 && hi == kUnboundedLength) {
    builder_.Add(rule, {GrammarItem::Named("json-string")});
    return absl::OkStatus();
  }
  if (hi != kUnboundedLength) hi = std::min<uint64_t>(hi, kMaxExactCount);
  // One rule per pair of bounds, so the notation writes out the repetition once.
  auto [it, inserted] = string_rules_.try_emplace({lo, hi}, 0);
  if (inserted) {
    it->second = builder_.NewRule("string");
    const uint32_t max = hi == kUnboundedLength ? kUnboundedRepeat : static_cast<uint32_t>(hi);
    builder_.Add(it->second,
                 {GrammarItem::Literal("\""),
                  GrammarItem::Named(kJsonCharRule).Repeat(static_cast<uint32_t>(lo), max),
                  GrammarItem::Literal("\"")});
  }
  builder_.Add(rule, {GrammarItem::Rule(it->second)});
  return absl::OkStatus();
}

absl::Status SchemaCompiler::CompileNumber(uint32_t rule, const SchemaView& view,
                                           bool integers_only) {
  if (const Keyword* multiple = view.Find("multipleOf")) {
    if (!multiple->value->is_number() || multiple->value->get<double>() <= 0) {
      return SchemaError(multiple->pointer, "must be a number above 0");
    }
    if (multiple->value->get<double>() != 1) {
      return SchemaError(multiple->pointer, "multipleOf other than 1 is not supported");
    }
    integers_only = true;
  }
  for (const char* name : kBoundNames) {
    const Keyword* k = view.Find(name);
    if (k == nullptr) continue;
    if (k->value->is_boolean()) {
      return SchemaError(k->pointer,
                         "Draft 4's boolean form is not supported; give the bound "
                         "as a number");
    }
    if (!k->value->is_number()) return SchemaError(k->pointer, "must be a number");
  }
  if (integers_only) return CompileIntegers(rule, view);
  std::optional<NumberBound> lower, upper;
  for (const char* name : kBoundNames) {
    const Keyword* k = view.Find(name);
    if (k == nullptr) continue;
    const double d = k->value->get<double>();
    if (std::floor(d) != d) {
      return SchemaError(k->pointer,
                         "a bound that is not a whole number is only supported for "
                         "\"type\": \"integer\"");
    }
    const bool lower_bound = IsLower(name), exclusive = IsExclusive(name);
    // A bound no generated number comes near constrains nothing.
    const double beyond = lower_bound ? -kBeyondGenerated : kBeyondGenerated;
    if (lower_bound ? (d < beyond || (d == beyond && !exclusive))
                    : (d > beyond || (d == beyond && !exclusive))) {
      continue;
    }
    // Far from zero, doubles next to the bound are too sparse for fractions: integers only,
    // which validators compare exactly.
    if (std::abs(d) > static_cast<double>(kMaxExactBound)) return CompileIntegers(rule, view);
    const NumberBound b{static_cast<int64_t>(d), exclusive};
    std::optional<NumberBound>& slot = lower_bound ? lower : upper;
    const bool tighter = !slot || (lower_bound ? b.value > slot->value : b.value < slot->value) ||
                         (b.value == slot->value && b.exclusive);
    if (tighter) slot = b;
  }
  if (!lower && !upper) {
    builder_.Add(rule, {GrammarItem::Named("json-number")});
    return absl::OkStatus();
  }
  if (lower && upper &&
      (lower->value > upper->value ||
       (lower->value == upper->value && (lower->exclusive || upper->exclusive)))) {
    Empty(view.pointer, "no number lies within the bounds");
    return absl::OkStatus();
  }
  AddNumberRange(builder_, rule, lower, upper);
  return absl::OkStatus();
}

absl::Status SchemaCompiler::CompileIntegers(uint32_t rule, const SchemaView& view) {
  int64_t lo = -kLargestInteger, hi = kLargestInteger;
  bool bounded = false;
  for (const char* name : kBoundNames) {
    const Keyword* k = view.Find(name);
    if (k == nullptr) continue;
    bounded = true;
    if (IsLower(name)) {
      lo = std::max(lo,
                    IsExclusive(name) ? Rounded(*k->value, false) + 1 : Rounded(*k->value, true));
    } else {
      hi = std::min(hi,
                    IsExclusive(name) ? Rounded(*k->value, true) - 1 : Rounded(*k->value, false));
    }
  }
  if (!bounded) {
    builder_.Add(rule, {GrammarItem::Literal("-").Repeat(0, 1), GrammarItem::Named("json-int")});
    return absl::OkStatus();
  }
  if (lo > hi) {
    Empty(view.pointer, absl::StrCat("no integer of at most ", kMaxIntegerDigits,
                                     " digits lies within the bounds"));
    return absl::OkStatus();
  }
  for (GrammarSequence& s : IntegerRange(lo, hi)) builder_.Add(rule, std::move(s));
  return absl::OkStatus();
}

}  // namespace llmw::structured
