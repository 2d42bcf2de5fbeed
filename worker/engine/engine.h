// The engine: one thread that runs every live request of one model in one
// forward pass per step (continuous batching over a paged KV cache with prefix
// caching), samples each sequence, checks its stop conditions and streams its
// events. Submit and Cancel may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/model_runner.h"
#include "worker/engine/block_manager.h"
#include "worker/engine/engine_options.h"
#include "worker/engine/request.h"
#include "worker/engine/scheduler.h"
#include "worker/engine/sequence.h"
#include "worker/structured/mask_walk.h"

namespace llmw {

// A snapshot of the engine's load, for heartbeats and metrics.
struct EngineStats {
  int64_t running = 0;
  int64_t waiting = 0;
  int64_t kv_blocks_total = 0;
  int64_t kv_blocks_used = 0;
  int64_t block_size = 0;
  int64_t prefix_query_tokens = 0;
  int64_t prefix_hit_tokens = 0;
  int64_t prompt_tokens = 0;     // prompt tokens of admitted requests
  int64_t generated_tokens = 0;  // tokens sampled
  int64_t preemptions = 0;
  int64_t steps = 0;
  int64_t finished[4] = {};  // by FinishReason
  // Token masks of structured outputs computed (cache hits included) and the time they took.
  int64_t format_masks = 0;
  double format_mask_seconds = 0;
};

class Engine {
 public:
  // Starts the engine thread over `runner`'s model and KV cache; the runner must outlive the
  // engine and is driven only by it meanwhile. The options must fit the runner's limits.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(ModelRunner& runner,
                                                        const EngineOptions& options);
  // Stops the thread; requests still live finish as cancelled.
  ~Engine();

  // Queues a request. Errors, with nothing queued: INVALID_ARGUMENT for a bad
  // parameter or a prompt that does not fit the context, RESOURCE_EXHAUSTED
  // when the queue is full ("overloaded") or the request could never fit the
  // KV cache, ALREADY_EXISTS for a request id in use. On OK, `on_event`
  // receives a StartedEvent, TokenEvents and, always last, a FinishedEvent.
  absl::Status Submit(GenerationRequest request, EventCallback on_event);

  // Cancels a queued or running request at the next step; false when no live
  // request has that id.
  bool Cancel(const std::string& request_id);

  EngineStats stats() const;
  const ModelRunner& runner() const { return runner_; }
  // The vocabulary's token trie for structured outputs, built at the first call (a fraction of a
  // second for 262k tokens); any thread.
  const structured::TokenTrie& token_trie();
  int64_t kv_capacity_tokens() const { return runner_.kv_cache().capacity_tokens(); }

 private:
  Engine(ModelRunner& runner, const EngineOptions& options);

  absl::Status Validate(const GenerationRequest& request) const;
  void Run();
  // Moves submitted requests and cancellations into the scheduler; false when
  // the engine is stopping.
  bool TakeInbox();
  void Step();
  // Sets the sequence's suppressed and allowed tokens for its next token and returns how its
  // logit row is to be read: as sampling candidates when its parameters allow it and no logprobs
  // are asked.
  LogitReadback PlanReadback(Sequence& seq);
  // Sets the sampler's mask from the sequence's format state and returns it, or sets the
  // sequence's format_error and returns null.
  const structured::TokenMask* PlanFormatMask(Sequence& seq);
  // Samples the sequence's next token from logit row `logit_row` of the step.
  void Sample(Sequence& seq, int64_t logit_row);
  // Feeds `token` to the sequence's format; false (the sequence finished) when it does not fit.
  bool AdvanceFormat(Sequence& seq, int32_t token);
  void EmitToken(Sequence& seq, int32_t token, std::span<const float> logits);
  void Finish(Sequence* seq, FinishReason reason, std::string detail);
  void UpdateStats();

  ModelRunner& runner_;
  const ModelInfo& info_;
  const Tokenizer& tokenizer_;
  const EngineOptions options_;
  BlockManager blocks_;
  Scheduler scheduler_;

  // Owned by the engine thread.
  std::map<std::string, std::unique_ptr<Sequence>> live_;
  StepPlan plan_;
  ForwardBatch batch_;
  std::vector<int32_t> end_of_generation_ids_;
  std::vector<int32_t> suppressed_;
  std::vector<std::string> pending_cancels_;

  // Shared with submitters, under mu_.
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Sequence>> inbox_;
  std::vector<std::string> cancels_;
  absl::flat_hash_set<std::string> ids_in_use_;  // every live request id
  int64_t queued_ = 0;                           // inbox + waiting, for the max_waiting check
  bool stopping_ = false;
  EngineStats stats_;

  std::once_flag token_trie_once_;
  std::unique_ptr<const structured::TokenTrie> token_trie_;
  // What every sequence's mask walks work in; the engine thread computes masks one at a time.
  structured::StateCache mask_walk_memory_;

  std::thread thread_;
};

}  // namespace llmw
