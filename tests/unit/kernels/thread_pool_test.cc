// ThreadPool: coverage, deterministic chunks, the caller's participation, sleeping workers,
// many repeated calls and shutdown.
#include "kernels/cpu/thread_pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

namespace llmw::cpu {
namespace {

using Range = std::pair<int64_t, int64_t>;

TEST(ThreadPoolTest, ChunksPartitionTheRangeEvenly) {
  for (int threads : {1, 2, 3, 7, 16}) {
    for (int64_t n : {0, 1, 2, 5, 16, 17, 1000, 12289}) {
      int64_t next = 0, smallest = n, largest = 0;
      for (int t = 0; t < threads; ++t) {
        const auto [begin, end] = ThreadPool::Chunk(n, threads, t);
        ASSERT_EQ(begin, next);
        ASSERT_LE(begin, end);
        smallest = std::min(smallest, end - begin);
        largest = std::max(largest, end - begin);
        next = end;
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(largest - smallest, 1);
    }
  }
  // Fewer tasks than threads: the first threads, the caller first, get one each.
  EXPECT_EQ(ThreadPool::Chunk(3, 8, 0), Range(0, 1));
  EXPECT_EQ(ThreadPool::Chunk(3, 8, 2), Range(2, 3));
  EXPECT_EQ(ThreadPool::Chunk(3, 8, 3), Range(3, 3));
}

TEST(ThreadPoolTest, DefaultsToHardwareConcurrency) {
  ThreadPool pool;
  EXPECT_EQ(pool.num_threads(), std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
}

TEST(ThreadPoolTest, CoversEveryIndexOnceWithTheFixedChunks) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 3, 7, 8, 9, 100, 1001}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::mutex mu;
      std::set<Range> seen;
      pool.ParallelFor(n, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1);
        std::lock_guard<std::mutex> lock(mu);
        seen.insert({begin, end});
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << n << " " << i;
      std::set<Range> expected;
      if (n == 1 || threads == 1) {
        if (n > 0) expected.insert({0, n});
      } else {
        for (int t = 0; t < threads; ++t) {
          const Range r = ThreadPool::Chunk(n, threads, t);
          if (r.first < r.second) expected.insert(r);
        }
      }
      EXPECT_EQ(seen, expected) << "threads " << threads << " n " << n;
    }
  }
}

TEST(ThreadPoolTest, ZeroTasksNeverCallsTheFunction) {
  ThreadPool pool(4);
  bool called = false;
  pool.ParallelFor(0, [&](int64_t, int64_t) { called = true; });
  pool.ParallelFor(-3, [&](int64_t, int64_t) { called = true; });
  EXPECT_FALSE(called);
}

TEST(ThreadPoolTest, CallerRunsTheFirstChunk) {
  ThreadPool pool(4);
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> first_on_caller{false};
  std::atomic<int> on_caller{0};
  pool.ParallelFor(4, [&](int64_t begin, int64_t) {
    if (std::this_thread::get_id() == caller) {
      on_caller.fetch_add(1);
      if (begin == 0) first_on_caller = true;
    }
  });
  EXPECT_TRUE(first_on_caller.load());
  EXPECT_EQ(on_caller.load(), 1);
}

TEST(ThreadPoolTest, ManyRepeatedCalls) {
  ThreadPool pool(4);
  std::atomic<int64_t> total{0};
  int64_t expected = 0;
  for (int call = 0; call < 20000; ++call) {
    const int64_t n = call % 13;
    pool.ParallelFor(n, [&](int64_t begin, int64_t end) {
      int64_t s = 0;
      for (int64_t i = begin; i < end; ++i) s += i + 1;
      total.fetch_add(s, std::memory_order_relaxed);
    });
    expected += n * (n + 1) / 2;
  }
  EXPECT_EQ(total.load(), expected);
}

// With no spinning every call must wake sleeping workers, and the caller must sleep while they
// finish a slow chunk.
TEST(ThreadPoolTest, WakesSleepingThreads) {
  ThreadPool pool(3, /*spin_us=*/0);
  for (int call = 0; call < 200; ++call) {
    std::atomic<int> done{0};
    pool.ParallelFor(3, [&](int64_t begin, int64_t) {
      if (call % 10 == 0 && begin == 2) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      done.fetch_add(1);
    });
    ASSERT_EQ(done.load(), 3);
    if (call % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

TEST(ThreadPoolTest, WorkIsVisibleAfterReturn) {
  ThreadPool pool(4);
  std::vector<int64_t> out(4096);
  for (int round = 0; round < 100; ++round) {
    pool.ParallelFor(static_cast<int64_t>(out.size()), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = i * round;  // plain stores
    });
    for (int64_t i = 0; i < static_cast<int64_t>(out.size()); ++i) ASSERT_EQ(out[i], i * round);
  }
}

TEST(ThreadPoolTest, ConstructAndDestroyRepeatedly) {
  for (int i = 0; i < 50; ++i) {
    ThreadPool pool(1 + i % 5, /*spin_us=*/i % 2 ? 0 : 50);
    if (i % 3 == 0) {
      std::atomic<int> count{0};
      pool.ParallelFor(10, [&](int64_t begin, int64_t end) { count.fetch_add(end - begin); });
      EXPECT_EQ(count.load(), 10);
    }
  }
}

}  // namespace
}  // namespace llmw::cpu
