// Normalizers through utf8proc and plain string rewriting; Metaspace splitting.
#include "models/tokenizer/hf_normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

namespace llmw {
namespace {

// `text` in a Unicode normal form; unchanged when utf8proc refuses it (e.g. a surrogate).
std::string UnicodeForm(std::string_view text, HfNormalizerStep::Kind kind) {
  int options = UTF8PROC_STABLE;
  switch (kind) {
    case HfNormalizerStep::Kind::kNfc:
      options |= UTF8PROC_COMPOSE;
      break;
    case HfNormalizerStep::Kind::kNfd:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case HfNormalizerStep::Kind::kNfkc:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    default:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
  }
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                                          static_cast<utf8proc_option_t>(options));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(mapped, &std::free);
  if (n < 0) return std::string(text);
  return std::string(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
}

}  // namespace

std::string ReplaceAll(std::string_view text, std::string_view pattern, std::string_view with) {
  if (pattern.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0;;) {
    const size_t hit = text.find(pattern, pos);
    out.append(text.substr(pos, hit - pos));
    if (hit == std::string_view::npos) break;
    out.append(with);
    pos = hit + pattern.size();
  }
  return out;
}

std::string Normalize(std::span<const HfNormalizerStep> steps, std::string_view text) {
  std::string out(text);
  for (const HfNormalizerStep& step : steps) {
    switch (step.kind) {
      case HfNormalizerStep::Kind::kPrepend:
        if (!out.empty()) out.insert(0, step.text);
        break;
      case HfNormalizerStep::Kind::kReplace:
        out = ReplaceAll(out, step.text, step.with);
        break;
      default:
        out = UnicodeForm(out, step.kind);
    }
  }
  return out;
}

std::vector<std::string> MetaspacePieces(const HfMetaspace& metaspace, std::string_view run,
                                         bool at_input_start) {
  const std::string& r = metaspace.replacement;
  std::string text = ReplaceAll(run, " ", r);
  const bool prepend = metaspace.prepend == HfMetaspace::Prepend::kAlways ||
                       (metaspace.prepend == HfMetaspace::Prepend::kFirst && at_input_start);
  if (prepend && text.compare(0, r.size(), r) != 0) text.insert(0, r);
  std::vector<std::string> pieces;
  if (!metaspace.split || r.empty()) {
    if (!text.empty()) pieces.push_back(std::move(text));
    return pieces;
  }
  size_t start = 0;
  for (size_t hit = text.find(r, 1); hit != std::string::npos; hit = text.find(r, hit + r.size())) {
    if (hit > start) pieces.push_back(text.substr(start, hit - start));
    start = hit;
  }
  if (start < text.size()) pieces.push_back(text.substr(start));
  return pieces;
}

}  // namespace llmw
