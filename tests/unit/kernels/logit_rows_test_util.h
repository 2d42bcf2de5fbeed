// Random logit rows of the kinds that top-N selection must get right, shared by the tests of
// cpu::TopCandidates and of its CUDA twin.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace llmw::testing {

inline constexpr int kLogitRowKinds = 6;

// `rows` rows of `vocab` values of one kind: 0 spread (as logits are), 1 few distinct values
// (ties at the cut), 2 mostly -inf (suppressed, masked), 3 almost all NaN (fewer numbers than
// some top_n), 4 every special value (NaN of both signs, ±0, ±inf), 5 one value everywhere.
inline std::vector<float> LogitRows(int64_t rows, int64_t vocab, int kind, std::mt19937& rng) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::uniform_int_distribution<int> small(-3, 3);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(rows * vocab));
  for (float& v : x) {
    const float u = unit(rng);
    switch (kind) {
      case 0:
        v = normal(rng);
        break;
      case 1:
        v = static_cast<float>(small(rng)) * 0.5f;
        break;
      case 2:
        v = u < 0.9f ? -kInf : normal(rng);
        break;
      case 3:
        v = u < 0.99f ? std::nanf("") : normal(rng);
        break;
      case 4:
        v = u < 0.1f    ? std::nanf("")
            : u < 0.2f  ? -std::nanf("")
            : u < 0.3f  ? -0.0f
            : u < 0.4f  ? 0.0f
            : u < 0.45f ? kInf
            : u < 0.6f  ? -kInf
                        : static_cast<float>(small(rng));
        break;
      default:
        v = 1.5f;
    }
  }
  return x;
}

}  // namespace llmw::testing
