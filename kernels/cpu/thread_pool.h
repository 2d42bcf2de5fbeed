// ThreadPool: a persistent set of threads that run one data-parallel loop at a time.
//
// Threads are created once, in the constructor, and joined in the destructor. ParallelFor splits
// [0, n) into one contiguous chunk per thread (the calling thread takes chunk 0) with a fixed rule,
// so the same n always yields the same chunks regardless of timing. Idle workers spin briefly and
// then sleep on a condition variable; a call allocates nothing and costs a few microseconds.
//
// ParallelFor is not reentrant: call it from one thread at a time (the pool's owner), and not from
// inside a task.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"

namespace llmw::cpu {

class ThreadPool {
 public:
  using Task = absl::FunctionRef<void(int64_t begin, int64_t end)>;

  // `num_threads` counts the calling thread; 0 means std::thread::hardware_concurrency().
  // Idle threads spin for `spin_us` microseconds before sleeping.
  explicit ThreadPool(int num_threads = 0, int spin_us = 100);
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Calls fn(begin, end) for the non-empty chunks of [0, n_tasks) and returns when all are done.
  void ParallelFor(int64_t n_tasks, Task fn);

  // The chunk thread `t` of `num_threads` gets: sizes differ by at most one, larger ones first, so
  // with fewer tasks than threads the first n_tasks threads (the caller among them) get one each.
  static std::pair<int64_t, int64_t> Chunk(int64_t n_tasks, int num_threads, int t);

 private:
  void WorkerLoop(int index);
  void RunChunk(int index);

  const int num_threads_;
  const int spin_us_;
  std::vector<std::thread> workers_;

  // The current loop, published by the release increment of generation_.
  const Task* task_ = nullptr;
  int64_t n_tasks_ = 0;
  bool stop_ = false;

  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<int> remaining_{0};  // workers yet to finish the current loop
  alignas(64) std::atomic<int> sleeping_workers_{0};
  std::atomic<bool> caller_sleeping_{false};

  std::mutex mu_;
  std::condition_variable work_cv_;  // workers wait here for a new generation
  std::condition_variable done_cv_;  // the caller waits here for remaining_ == 0
};

}  // namespace llmw::cpu
