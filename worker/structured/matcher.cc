// GrammarMatcher: a byte history of stack sets over the shared store.
#include "worker/structured/matcher.h"

#include <algorithm>

namespace llmw::structured {

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar)
    : stacks_(std::make_shared<Stacks>(std::move(grammar))) {
  history_.push_back(stacks_->Start());
}

bool GrammarMatcher::Accept(uint8_t byte) {
  MatchState next;
  if (!stacks_->Step(history_.back(), byte, &next)) return false;
  history_.push_back(std::move(next));
  return true;
}

bool GrammarMatcher::Accept(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (!Accept(static_cast<uint8_t>(bytes[i]))) {
      Rewind(i);
      return false;
    }
  }
  return true;
}

void GrammarMatcher::Rewind(size_t n) {
  history_.resize(history_.size() - std::min(n, consumed()));
}

}  // namespace llmw::structured
