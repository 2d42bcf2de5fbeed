// Step planning: budgeted chunks, FIFO admission and preemption by recompute.
#include "worker/engine/scheduler.h"

#include <algorithm>

namespace llmw {

Scheduler::Scheduler(BlockManager& blocks, int64_t max_batch_tokens, int32_t max_running)
    : blocks_(blocks), max_batch_tokens_(max_batch_tokens), max_running_(max_running) {}

void Scheduler::Enqueue(Sequence* seq) { waiting_.push_back(seq); }

void Scheduler::Remove(Sequence* seq) {
  std::erase(running_, seq);
  std::erase(waiting_, seq);
  blocks_.Release(seq->blocks);
  seq->num_computed = 0;
}

bool Scheduler::Planned(const Sequence* seq, const StepPlan& plan) const {
  return std::any_of(plan.chunks.begin(), plan.chunks.end(),
                     [&](const ScheduledChunk& c) { return c.seq == seq; });
}

void Scheduler::Preempt(Sequence* seq, StepPlan& plan) {
  std::erase(running_, seq);
  blocks_.Release(seq->blocks);
  seq->num_computed = 0;
  ++seq->preemptions;
  waiting_.push_front(seq);
  plan.preempted.push_back(seq);
}

bool Scheduler::ReserveOrPreempt(Sequence* seq, int64_t length, StepPlan& plan) {
  while (!blocks_.Reserve(seq->blocks, seq->num_computed + length).ok()) {
    // The newest running sequence that this step has not planned yet goes
    // first; when that is `seq` itself (or there is none), `seq` goes.
    auto victim = std::find_if(running_.rbegin(), running_.rend(),
                               [&](Sequence* s) { return !Planned(s, plan); });
    if (victim == running_.rend() || *victim == seq) {
      Preempt(seq, plan);
      return false;
    }
    Preempt(*victim, plan);
  }
  return true;
}

bool Scheduler::TryAdmit(Sequence* seq) {
  const int64_t n_tokens = static_cast<int64_t>(seq->tokens.size());
  if (seq->blocks.blocks().empty()) {
    seq->num_computed =
        blocks_.MatchPrefix(seq->tokens, n_tokens - 1, seq->blocks, /*record_stats=*/false);
  }
  // Room for everything it has now plus the token it will generate, so that a
  // just-admitted sequence does not immediately preempt others.
  const int64_t have = static_cast<int64_t>(seq->blocks.blocks().size());
  const int64_t need = (n_tokens + 1 + blocks_.block_size() - 1) / blocks_.block_size() - have;
  if (!blocks_.CanAllocate(need)) {
    blocks_.Release(seq->blocks);
    seq->num_computed = 0;
    return false;
  }
  blocks_.RecordQuery(n_tokens, n_tokens - 1, seq->num_computed);
  return true;
}

void Scheduler::Schedule(StepPlan& plan) {
  plan.chunks.clear();
  plan.admitted.clear();
  plan.preempted.clear();
  int64_t budget = max_batch_tokens_;

  // Decode tokens first, then prefill chunks, each pass oldest first; the copy
  // is needed because preemption edits running_.
  for (const bool decode_pass : {true, false}) {
    const std::vector<Sequence*> snapshot = running_;
    for (Sequence* seq : snapshot) {
      if (budget == 0) break;
      if ((seq->pending() == 1) != decode_pass) continue;
      if (std::find(running_.begin(), running_.end(), seq) == running_.end()) continue;
      const int64_t length = std::min(seq->pending(), budget);
      if (!ReserveOrPreempt(seq, length, plan)) continue;
      plan.chunks.push_back({seq, seq->num_computed, length, length == seq->pending()});
      budget -= length;
    }
  }

  // Admission: first come first served; stop at the first that does not fit.
  while (!waiting_.empty() && budget > 0 && static_cast<int32_t>(running_.size()) < max_running_) {
    Sequence* seq = waiting_.front();
    if (std::find(plan.preempted.begin(), plan.preempted.end(), seq) != plan.preempted.end()) {
      break;  // preempted this very step: blocks are short; retry next step
    }
    if (!TryAdmit(seq)) break;
    waiting_.pop_front();
    running_.push_back(seq);
    if (!seq->started) plan.admitted.push_back(seq);
    const int64_t length = std::min(seq->pending(), budget);
    if (!blocks_.Reserve(seq->blocks, seq->num_computed + length).ok()) break;  // checked above
    plan.chunks.push_back({seq, seq->num_computed, length, length == seq->pending()});
    budget -= length;
  }
}

}  // namespace llmw
