// Weights packed at load give bitwise what the tensor gives in every variant, MatmulShared equals
// separate calls, and the packed layout costs no more memory than the original (with an even
// block count; an odd one pads the scales to 64 bytes).
#include "kernels/cpu/packed_weights.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/matmul_internal.h"
#include "tests/unit/kernels/matmul_test_util.h"

namespace llmw::cpu {
namespace {

using matmul_internal::Isa;
using testing_util::Weights;

const DType kPackable[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0};

bool BitwiseEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(PackedWeightsTest, PackedEqualsTensorInEveryVariant) {
  ThreadPool pool(3);
  MatmulScratch scratch;
  uint32_t seed = 10;
  for (DType t : kPackable) {
    for (int64_t out : {5, 16, 77}) {
      const int64_t in = 96;
      const Weights w(t, out, in, ++seed);
      const PackedWeights packed(w.tensor);
      for (int64_t n : {1, 3, 8, 17}) {
        const std::vector<float> x = testing_util::RandomActivations(n, in, ++seed);
        std::vector<float> want(n * out);
        matmul_internal::MatmulWithIsa(Isa::kScalar, w.tensor, x.data(), n, want.data(), pool,
                                       scratch);
        for (Isa isa : matmul_internal::AvailableIsas()) {
          std::vector<float> got(n * out);
          matmul_internal::MatmulWithIsa(isa, packed, x.data(), n, got.data(), pool, scratch);
          EXPECT_TRUE(BitwiseEqual(got, want)) << matmul_internal::IsaName(isa) << " "
                                               << DTypeName(t) << " out " << out << " n " << n;
        }
      }
    }
  }
}

TEST(PackedWeightsTest, SharedEqualsSeparateCalls) {
  ThreadPool pool(2);
  MatmulScratch scratch;
  const int64_t in = 576;
  // q, k, v shapes; then a mixed-dtype set and one larger than a shared call takes at once.
  const Weights q(DType::kQ4_1, 576, in, 1), k(DType::kQ4_1, 192, in, 2),
      v(DType::kQ4_1, 200, in, 3), h(DType::kQ8_0, 48, in, 4), u(DType::kQ4_1, 33, in, 5);
  const PackedWeights pq(q.tensor), pk(k.tensor), pv(v.tensor), ph(h.tensor), pu(u.tensor);
  const std::vector<std::vector<const PackedWeights*>> sets = {
      {&pq, &pk, &pv}, {&pq, &ph, &pk}, {&pq, &pk, &pv, &pu, &pk}};
  for (const auto& set : sets) {
    for (int64_t n : {1, 8}) {
      const std::vector<float> x = testing_util::RandomActivations(n, in, 7);
      std::vector<std::vector<float>> want, got;
      std::vector<MatmulTarget> targets;
      for (const PackedWeights* w : set) {
        want.emplace_back(n * w->source().dim(0));
        got.emplace_back(n * w->source().dim(0));
        Matmul(*w, x.data(), n, want.back().data(), pool, scratch);
      }
      for (size_t i = 0; i < set.size(); ++i) targets.push_back({set[i], got[i].data()});
      MatmulShared(targets, x.data(), n, pool, scratch);
      for (size_t i = 0; i < set.size(); ++i) {
        EXPECT_TRUE(BitwiseEqual(got[i], want[i])) << "weight " << i << " n " << n;
      }
    }
  }
}

TEST(PackedWeightsTest, LayoutTakesTheOriginalBytes) {
  for (DType t : kPackable) {
    for (int64_t in : {64, 576, 1536}) {
      EXPECT_EQ(PackLayoutFor(t, in).bytes, kPackRows * RowBytes(t, in))
          << DTypeName(t) << " in " << in;
    }
  }
}

}  // namespace
}  // namespace llmw::cpu
