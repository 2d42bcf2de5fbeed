// Backoff: full jitter under a ceiling that doubles up to the maximum and resets.
#include "worker/registration/backoff.h"

#include <gtest/gtest.h>

namespace llmw {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, CeilingDoublesUpToTheMaximumAndWaitsStayUnderIt) {
  Backoff backoff(milliseconds(100), milliseconds(1000), /*seed=*/7);
  const int64_t ceilings[] = {100, 200, 400, 800, 1000, 1000};
  for (int64_t ceiling : ceilings) {
    EXPECT_EQ(backoff.ceiling().count(), ceiling);
    const milliseconds wait = backoff.Next();
    EXPECT_GE(wait.count(), 0);
    EXPECT_LE(wait.count(), ceiling);
  }
  backoff.Reset();
  EXPECT_EQ(backoff.ceiling().count(), 100);
}

TEST(BackoffTest, WaitsAreSpreadAcrossTheRange) {
  Backoff backoff(milliseconds(1000), milliseconds(1000), /*seed=*/11);
  int low = 0, high = 0;
  for (int i = 0; i < 200; ++i) {
    const int64_t wait = backoff.Next().count();
    low += wait < 500;
    high += wait >= 500;
  }
  EXPECT_GT(low, 50);
  EXPECT_GT(high, 50);
}

TEST(BackoffTest, SameSeedSameWaits) {
  Backoff a(milliseconds(50), milliseconds(5000), 3), b(milliseconds(50), milliseconds(5000), 3);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.Next(), b.Next());
}

TEST(BackoffTest, ZeroInitialIsRaisedToOneMillisecond) {
  Backoff backoff(milliseconds(0), milliseconds(0), 1);
  EXPECT_EQ(backoff.ceiling().count(), 1);
  EXPECT_LE(backoff.Next().count(), 1);
}

}  // namespace
}  // namespace llmw
