// Exponential backoff with full jitter (see backoff.h).
#include "worker/registration/backoff.h"

#include <algorithm>

namespace llmw {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
    : Backoff(initial, max, std::random_device{}()) {}

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      ceiling_(initial_),
      rng_(seed) {}

std::chrono::milliseconds Backoff::Next() {
  std::uniform_int_distribution<int64_t> draw(0, ceiling_.count());
  const std::chrono::milliseconds wait(draw(rng_));
  ceiling_ = std::min(ceiling_ * 2, max_);
  return wait;
}

}  // namespace llmw
