// Exponential backoff with full jitter for retrying calls to the scheduler: each wait is drawn
// uniformly from [0, ceiling], and the ceiling doubles after every draw up to a maximum.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace llmw {

class Backoff {
 public:
  // `seed` makes the draws reproducible in tests; otherwise it comes from std::random_device.
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max);
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed);

  // The next wait; raises the ceiling for the one after.
  std::chrono::milliseconds Next();
  // Back to the initial ceiling (after a success).
  void Reset() { ceiling_ = initial_; }
  std::chrono::milliseconds ceiling() const { return ceiling_; }

 private:
  std::chrono::milliseconds initial_, max_, ceiling_;
  std::mt19937_64 rng_;
};

}  // namespace llmw
