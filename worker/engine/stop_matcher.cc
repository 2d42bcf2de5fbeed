// Streaming stop-string search: one Knuth–Morris–Pratt automaton per stop
// string, fed only the newly appended bytes, so each byte costs O(1)
// amortised per stop string however long the output grows.
#include "worker/engine/stop_matcher.h"

#include <algorithm>
#include <utility>

namespace llmw {
namespace {

bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops) {
  for (size_t i = 0; i < stops.size(); ++i) {
    if (stops[i].empty()) continue;
    Stop s{std::move(stops[i]), static_cast<int>(i), {}, 0};
    const std::string& t = s.text;
    s.border.assign(t.size(), 0);
    for (size_t j = 1, k = 0; j < t.size(); ++j) {
      while (k > 0 && t[j] != t[k]) k = s.border[k - 1];
      if (t[j] == t[k]) ++k;
      s.border[j] = static_cast<uint32_t>(k);
    }
    stops_.push_back(std::move(s));
  }
}

StopStringMatcher::Output StopStringMatcher::Append(std::string_view text) {
  Output out;
  if (stopped()) {
    out.stopped = true;
    out.stop_index = stop_index_;
    return out;
  }
  if (stops_.empty()) {
    out.text.assign(text.data(), text.size());
    return out;
  }
  const size_t start = pending_.size();
  pending_.append(text.data(), text.size());
  for (size_t j = start; j < pending_.size(); ++j) {
    const char c = pending_[j];
    const Stop* hit = nullptr;
    for (Stop& s : stops_) {
      size_t k = s.matched;
      while (k > 0 && s.text[k] != c) k = s.border[k - 1];
      if (s.text[k] == c) ++k;
      s.matched = k;
      if (k == s.text.size() && (hit == nullptr || k > hit->text.size())) hit = &s;
    }
    if (hit != nullptr) {
      out.text = pending_.substr(0, j + 1 - hit->text.size());
      out.stopped = true;
      out.stop_index = stop_index_ = hit->index;
      pending_.clear();
      return out;
    }
  }
  size_t hold = 0;
  for (const Stop& s : stops_) hold = std::max(hold, s.matched);
  size_t emit = pending_.size() - hold;
  while (emit > 0 && emit < pending_.size() && IsUtf8Continuation(pending_[emit])) --emit;
  out.text = pending_.substr(0, emit);
  pending_.erase(0, emit);
  return out;
}

std::string StopStringMatcher::Flush() {
  for (Stop& s : stops_) s.matched = 0;
  return std::exchange(pending_, std::string());
}

}  // namespace llmw
