// ThreadPool: generation-counter dispatch with spin-then-sleep waiting on both sides.
#include "kernels/cpu/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace llmw::cpu {
namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until `done()` holds or `spin_us` microseconds pass; returns done(). After the first
// rounds it also yields, so that with more threads than free cores (a CPU quota, a busy host)
// the thread being waited for gets to run instead of the spinners.
template <typename Pred>
bool SpinUntil(Pred done, int spin_us) {
  if (done()) return true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
  for (int round = 0;; ++round) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      CpuRelax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
    if (round >= 4) std::this_thread::yield();
  }
}

}  // namespace

ThreadPool::ThreadPool(int num_threads, int spin_us)
    : num_threads_(num_threads > 0
                       ? num_threads
                       : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))),
      spin_us_(spin_us) {
  workers_.reserve(num_threads_ - 1);
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_seq_cst);
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

std::pair<int64_t, int64_t> ThreadPool::Chunk(int64_t n_tasks, int num_threads, int t) {
  const int64_t base = n_tasks / num_threads;
  const int64_t extra = n_tasks % num_threads;
  const int64_t begin = t * base + std::min<int64_t>(t, extra);
  return {begin, begin + base + (t < extra ? 1 : 0)};
}

void ThreadPool::RunChunk(int index) {
  const auto [begin, end] = Chunk(n_tasks_, num_threads_, index);
  if (begin < end) (*task_)(begin, end);
}

void ThreadPool::ParallelFor(int64_t n_tasks, Task fn) {
  if (n_tasks <= 0) return;
  if (n_tasks == 1 || num_threads_ == 1) {
    fn(0, n_tasks);
    return;
  }
  task_ = &fn;
  n_tasks_ = n_tasks;
  remaining_.store(num_threads_ - 1, std::memory_order_relaxed);
  // seq_cst pairs with the workers' sleeping_workers_ increment: either they see the new
  // generation before sleeping, or we see them asleep and wake them.
  generation_.fetch_add(1, std::memory_order_seq_cst);
  if (sleeping_workers_.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard<std::mutex> lock(mu_); }
    work_cv_.notify_all();
  }

  RunChunk(0);

  auto all_done = [this] { return remaining_.load(std::memory_order_acquire) == 0; };
  if (!SpinUntil(all_done, spin_us_)) {
    std::unique_lock<std::mutex> lock(mu_);
    caller_sleeping_.store(true, std::memory_order_seq_cst);
    done_cv_.wait(lock, all_done);
    caller_sleeping_.store(false, std::memory_order_relaxed);
  }
  task_ = nullptr;
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  while (true) {
    auto has_work = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!SpinUntil(has_work, spin_us_)) {
      std::unique_lock<std::mutex> lock(mu_);
      sleeping_workers_.fetch_add(1, std::memory_order_seq_cst);
      work_cv_.wait(lock, has_work);
      sleeping_workers_.fetch_sub(1, std::memory_order_relaxed);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_) return;
    RunChunk(index);
    // seq_cst pairs with caller_sleeping_ as above.
    if (remaining_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        caller_sleeping_.load(std::memory_order_seq_cst)) {
      { std::lock_guard<std::mutex> lock(mu_); }
      done_cv_.notify_one();
    }
  }
}

}  // namespace llmw::cpu
