// Decides what one engine step runs: every running sequence's pending tokens
// (decode tokens first, then prefill chunks) under a per-step token budget,
// then newly admitted sequences, first come first served. Out of KV blocks, it
// preempts the newest running sequence by recompute: its blocks are freed and
// it returns to the front of the queue with its tokens so far.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "worker/engine/block_manager.h"
#include "worker/engine/sequence.h"

namespace llmw {

struct ScheduledChunk {
  Sequence* seq = nullptr;
  int64_t start = 0;  // first position fed (== seq->num_computed when planned)
  int64_t length = 0;
  bool samples = false;  // the chunk ends at the sequence's last token: sample after it
};

struct StepPlan {
  std::vector<ScheduledChunk> chunks;
  std::vector<Sequence*> admitted;   // scheduled for the first time since queued
  std::vector<Sequence*> preempted;  // moved back to the queue this step
};

class Scheduler {
 public:
  Scheduler(BlockManager& blocks, int64_t max_batch_tokens, int32_t max_running);

  void Enqueue(Sequence* seq);
  // Takes `seq` out of the queue or the running set and releases its blocks.
  void Remove(Sequence* seq);
  // Plans the next step into `plan` (cleared first).
  void Schedule(StepPlan& plan);

  const std::vector<Sequence*>& running() const { return running_; }
  const std::deque<Sequence*>& waiting() const { return waiting_; }
  bool idle() const { return running_.empty() && waiting_.empty(); }

 private:
  // Reserves blocks for `length` more tokens of `seq`, preempting the newest
  // unplanned running sequences as needed; false when `seq` itself had to go.
  bool ReserveOrPreempt(Sequence* seq, int64_t length, StepPlan& plan);
  void Preempt(Sequence* seq, StepPlan& plan);
  bool TryAdmit(Sequence* seq);
  bool Planned(const Sequence* seq, const StepPlan& plan) const;

  BlockManager& blocks_;
  const int64_t max_batch_tokens_;
  const int32_t max_running_;
  std::vector<Sequence*> running_;  // in admission order: the oldest first
  std::deque<Sequence*> waiting_;
};

}  // namespace llmw
