// The engine thread's step loop and the request lifecycle around it.
#include "worker/engine/engine.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "worker/engine/logprobs.h"
#include "worker/engine/sequence_runner.h"

namespace llmw {
namespace {

constexpr size_t kMaxStopStringBytes = 256;
// A sampler's candidate plan always fits what the runner reads back.
static_assert(kMaxSamplingCandidates <= ModelRunner::kMaxLogitCandidates);

double Seconds(EngineClock::duration d) { return std::chrono::duration<double>(d).count(); }

absl::Status ValidateStopParams(const StopParams& stop, int64_t vocab_size) {
  if (stop.max_tokens < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_tokens must be at least 1, got ", stop.max_tokens));
  }
  if (stop.min_tokens < 0 || stop.min_tokens > stop.max_tokens) {
    return absl::InvalidArgumentError(absl::StrCat(
        "min_tokens must be in [0, max_tokens = ", stop.max_tokens, "], got ", stop.min_tokens));
  }
  if (stop.stop_strings.size() > kMaxStopStrings) {
    return absl::InvalidArgumentError(absl::StrCat("stop has ", stop.stop_strings.size(),
                                                   " strings; at most ", kMaxStopStrings,
                                                   " stop strings are allowed"));
  }
  for (size_t i = 0; i < stop.stop_strings.size(); ++i) {
    const size_t bytes = stop.stop_strings[i].size();
    if (bytes == 0 || bytes > kMaxStopStringBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("stop[", i, "] must be 1 to ", kMaxStopStringBytes, " bytes, got ", bytes));
    }
  }
  for (size_t i = 0; i < stop.stop_token_ids.size(); ++i) {
    const int32_t id = stop.stop_token_ids[i];
    if (id < 0 || id >= vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "stop_token_ids[", i, "] = ", id, " is outside the vocabulary [0, ", vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      return "cancelled";
    case FinishReason::kError:
      return "error";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(ModelRunner& runner,
                                                       const EngineOptions& options) {
  if (options.max_batch_tokens < 1 || options.max_batch_tokens > runner.max_batch_tokens()) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_batch_tokens must be in [1, ", runner.max_batch_tokens(),
                     "] (the runner's workspace), got ", options.max_batch_tokens));
  }
  if (options.max_running < 1 || options.max_running > runner.max_sequences()) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_running must be in [1, ", runner.max_sequences(),
                     "] (the runner's max_sequences), got ", options.max_running));
  }
  if (options.max_waiting < 0) return absl::InvalidArgumentError("max_waiting must be >= 0");
  return std::unique_ptr<Engine>(new Engine(runner, options));
}

Engine::Engine(ModelRunner& runner, const EngineOptions& options)
    : runner_(runner),
      info_(runner.info()),
      tokenizer_(runner.tokenizer()),
      options_(options),
      blocks_(runner.kv_cache(), options.enable_prefix_caching),
      scheduler_(blocks_, options.max_batch_tokens, options.max_running) {
  for (int32_t id = 0; id < tokenizer_.vocab_size(); ++id) {
    if (tokenizer_.IsEndOfGeneration(id)) end_of_generation_ids_.push_back(id);
  }
  stats_.kv_blocks_total = blocks_.num_blocks();
  stats_.block_size = runner.kv_cache().block_size();
  thread_ = std::thread([this] { Run(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

absl::Status Engine::Validate(const GenerationRequest& request) const {
  const int64_t vocab = info_.vocab_size;
  if (request.id.empty()) return absl::InvalidArgumentError("request id must not be empty");
  if (request.prompt.empty()) return absl::InvalidArgumentError("the prompt has no tokens");
  for (int32_t id : request.prompt) {
    if (id < 0 || id >= vocab) {
      return absl::InvalidArgumentError(
          absl::StrCat("prompt token id ", id, " is outside the vocabulary [0, ", vocab, ")"));
    }
  }
  RETURN_IF_ERROR(ValidateSamplingParams(request.sampling, vocab));
  RETURN_IF_ERROR(ValidateStopParams(request.stop, vocab));
  if (request.grammar != nullptr && request.stop.ignore_eos) {
    return absl::InvalidArgumentError(
        "ignore_eos cannot be combined with response_format: the format decides where the output "
        "may end");
  }
  if (request.logprobs && (*request.logprobs < 0 || *request.logprobs > kMaxLogprobs)) {
    return absl::InvalidArgumentError(
        absl::StrCat("logprobs must be in [0, ", kMaxLogprobs, "], got ", *request.logprobs));
  }
  const int64_t total = static_cast<int64_t>(request.prompt.size()) + request.stop.max_tokens;
  RETURN_IF_ERROR(
      CheckFitsContext(request.prompt.size(), request.stop.max_tokens, info_.context_length));
  if (total + 1 > kv_capacity_tokens()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "prompt of ", request.prompt.size(), " tokens + ", request.stop.max_tokens,
        " new tokens can never fit the KV cache of ", kv_capacity_tokens(), " tokens"));
  }
  return absl::OkStatus();
}

absl::Status Engine::Submit(GenerationRequest request, EventCallback on_event) {
  RETURN_IF_ERROR(Validate(request));
  auto seq = std::make_unique<Sequence>();
  const uint64_t seed = request.sampling.seed.value_or(std::random_device()());
  seq->tokens = request.prompt;
  seq->prompt_len = static_cast<int64_t>(request.prompt.size());
  seq->sampler = std::make_unique<Sampler>(request.sampling, info_.vocab_size, seed, request.prompt,
                                           request.grammar != nullptr);
  seq->decoder = std::make_unique<StreamDecoder>(tokenizer_);
  seq->stop_matcher = std::make_unique<StopStringMatcher>(request.stop.stop_strings);
  if (request.grammar != nullptr) {
    seq->format = std::make_unique<structured::GrammarMatcher>(request.grammar);
    seq->format_masks = std::make_unique<structured::MaskCache>(token_trie(), &mask_walk_memory_);
  }
  seq->submitted = EngineClock::now();
  seq->on_event = std::move(on_event);
  seq->request = std::move(request);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("the engine is shutting down");
    if (ids_in_use_.contains(seq->request.id)) {
      return absl::AlreadyExistsError(
          absl::StrCat("request id '", seq->request.id, "' is already in use"));
    }
    if (queued_ >= options_.max_waiting) {
      return absl::ResourceExhaustedError(
          absl::StrCat("overloaded: ", queued_, " requests are already waiting (max_waiting ",
                       options_.max_waiting, ")"));
    }
    ids_in_use_.insert(seq->request.id);
    ++queued_;
    inbox_.push_back(std::move(seq));
  }
  wake_.notify_one();
  return absl::OkStatus();
}

bool Engine::Cancel(const std::string& request_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ids_in_use_.contains(request_id)) return false;
    cancels_.push_back(request_id);
  }
  wake_.notify_one();
  return true;
}

const structured::TokenTrie& Engine::token_trie() {
  std::call_once(token_trie_once_, [this] {
    token_trie_ = std::make_unique<const structured::TokenTrie>(
        structured::TokenTrie::FromTokenizer(tokenizer_));
  });
  return *token_trie_;
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Engine::Run() {
  while (TakeInbox()) Step();
  const auto shut_down = [](Sequence& seq) {
    FinishedEvent finished;
    finished.reason = FinishReason::kCancelled;
    finished.detail = "the engine is shutting down";
    finished.prompt_tokens = seq.prompt_len;
    finished.generated_tokens = seq.generated();
    seq.on_event(std::move(finished));
  };
  for (auto& [id, seq] : live_) {
    scheduler_.Remove(seq.get());
    shut_down(*seq);
  }
  live_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& seq : inbox_) shut_down(*seq);
  inbox_.clear();
}

bool Engine::TakeInbox() {
  std::unique_lock<std::mutex> lock(mu_);
  wake_.wait(lock, [&] {
    return stopping_ || !inbox_.empty() || !cancels_.empty() || !scheduler_.idle();
  });
  if (stopping_) return false;
  for (auto& seq : inbox_) {
    Sequence* raw = seq.get();
    live_[raw->request.id] = std::move(seq);
    scheduler_.Enqueue(raw);
  }
  inbox_.clear();
  for (std::string& id : cancels_) pending_cancels_.push_back(std::move(id));
  cancels_.clear();
  return true;
}

void Engine::Step() {
  const EngineClock::time_point now = EngineClock::now();
  for (const std::string& id : pending_cancels_) {
    if (auto it = live_.find(id); it != live_.end()) {
      Finish(it->second.get(), FinishReason::kCancelled, "cancelled");
    }
  }
  pending_cancels_.clear();
  std::vector<Sequence*> expired;
  for (auto& [id, seq] : live_) {
    if (seq->request.deadline && *seq->request.deadline <= now) expired.push_back(seq.get());
  }
  for (Sequence* seq : expired) Finish(seq, FinishReason::kCancelled, "deadline exceeded");

  scheduler_.Schedule(plan_);
  for (Sequence* seq : plan_.admitted) {
    seq->started = true;
    seq->first_scheduled = now;
    seq->cached_prompt_tokens = seq->num_computed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      --queued_;
      stats_.prompt_tokens += seq->prompt_len;
    }
    seq->on_event(StartedEvent{seq->prompt_len, seq->cached_prompt_tokens});
  }
  if (plan_.chunks.empty()) {
    UpdateStats();
    return;
  }

  batch_.chunks.clear();
  batch_.readback.clear();
  for (const ScheduledChunk& c : plan_.chunks) {
    batch_.chunks.push_back(
        SequenceChunk{std::span<const int32_t>(c.seq->tokens.data() + c.start, c.length), c.start,
                      &c.seq->blocks, c.samples ? ChunkLogits::kLast : ChunkLogits::kNone});
    if (c.samples) batch_.readback.push_back(PlanReadback(*c.seq));
  }
  const absl::Status status = runner_.Forward(batch_);
  if (!status.ok()) {
    for (const ScheduledChunk& c : plan_.chunks) {
      Finish(c.seq, FinishReason::kError, std::string(status.message()));
    }
    UpdateStats();
    return;
  }
  int64_t logit_row = 0;
  for (const ScheduledChunk& c : plan_.chunks) {
    c.seq->num_computed += c.length;
    blocks_.CommitFullBlocks(c.seq->blocks, c.seq->tokens, c.seq->num_computed);
    if (c.samples) Sample(*c.seq, logit_row++);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.steps;
    stats_.preemptions += static_cast<int64_t>(plan_.preempted.size());
  }
  UpdateStats();
}

LogitReadback Engine::PlanReadback(Sequence& seq) {
  const StopParams& stop = seq.request.stop;
  suppressed_.clear();
  if (seq.generated() < stop.min_tokens) {
    if (!stop.ignore_eos) {
      suppressed_.insert(suppressed_.end(), end_of_generation_ids_.begin(),
                         end_of_generation_ids_.end());
    }
    suppressed_.insert(suppressed_.end(), stop.stop_token_ids.begin(), stop.stop_token_ids.end());
  }
  seq.sampler->SetSuppressed(suppressed_);
  const structured::TokenMask* allowed = seq.format != nullptr ? PlanFormatMask(seq) : nullptr;
  if (seq.request.logprobs) return {};  // they need the whole row
  const Sampler::CandidatePlan plan = seq.sampler->PlanCandidates();
  LogitReadback readback{plan.top_n, plan.extra_ids};
  // Candidates come from the masked row; a row read whole is masked by the sampler.
  if (allowed != nullptr && plan.top_n > 0) readback.allowed = *allowed;
  return readback;
}

const structured::TokenMask* Engine::PlanFormatMask(Sequence& seq) {
  seq.sampler->SetAllowed(nullptr);
  const EngineClock::time_point start = EngineClock::now();
  const absl::StatusOr<const structured::TokenMask*> mask = seq.format_masks->Mask(*seq.format);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.format_masks;
    stats_.format_mask_seconds += Seconds(EngineClock::now() - start);
  }
  if (!mask.ok()) {
    seq.format_error = absl::StrCat("response_format: ", mask.status().message());
    return nullptr;
  }
  const structured::TokenMask& allowed = **mask;
  if (std::all_of(allowed.begin(), allowed.end(), [](uint64_t w) { return w == 0; })) {
    seq.format_error =
        absl::StrCat("response_format: no token of the vocabulary continues the output after ",
                     seq.format->consumed(), " bytes");
    return nullptr;
  }
  seq.sampler->SetAllowed(allowed.data());
  return &allowed;
}

bool Engine::AdvanceFormat(Sequence& seq, int32_t token) {
  // End-of-generation tokens are allowed only where the format can end; they add no bytes.
  if (tokenizer_.IsEndOfGeneration(token)) return true;
  if (seq.format->Accept(token_trie_->token_bytes(token))) return true;
  Finish(&seq, FinishReason::kError,
         absl::StrCat("response_format: sampled token ", token, " does not continue the output"));
  return false;
}

void Engine::Sample(Sequence& seq, int64_t logit_row) {
  const StopParams& stop = seq.request.stop;
  if (!seq.format_error.empty()) {
    Finish(&seq, FinishReason::kError, seq.format_error);
    return;
  }
  std::span<const float> logits;  // the whole row, when read
  int32_t token;
  if (batch_.readback[logit_row].top_n > 0) {
    const ModelRunner::LogitCandidates c = runner_.Candidates(logit_row);
    token = seq.sampler->SampleCandidates(c.top_ids, c.top_values, c.extra_values);
  } else {
    logits = runner_.LogitRow(logit_row);
    token = seq.sampler->Sample(logits);
  }
  seq.sampler->Accept(token);
  seq.tokens.push_back(token);
  if (seq.format != nullptr && !AdvanceFormat(seq, token)) return;
  if (seq.generated() == 1) seq.first_token = EngineClock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.generated_tokens;
  }

  if (!stop.ignore_eos && tokenizer_.IsEndOfGeneration(token)) {
    Finish(&seq, FinishReason::kStop, "eos");
    return;
  }
  if (std::find(stop.stop_token_ids.begin(), stop.stop_token_ids.end(), token) !=
      stop.stop_token_ids.end()) {
    Finish(&seq, FinishReason::kStop, "stop token");
    return;
  }
  EmitToken(seq, token, logits);
}

void Engine::EmitToken(Sequence& seq, int32_t token, std::span<const float> logits) {
  TokenEvent event;
  event.id = token;
  StopStringMatcher::Output out = seq.stop_matcher->Append(seq.decoder->Push(token));
  event.text = std::move(out.text);
  if (seq.request.logprobs) {
    event.logprobs.emplace();
    ComputeLogprobs(logits, token, *seq.request.logprobs, &*event.logprobs);
  }
  seq.on_event(std::move(event));
  if (out.stopped) {
    Finish(&seq, FinishReason::kStop, "stop string");
  } else if (seq.format != nullptr && seq.format->Complete()) {
    Finish(&seq, FinishReason::kStop, "format complete");
  } else if (seq.generated() >= seq.request.stop.max_tokens) {
    Finish(&seq, FinishReason::kLength, "max_tokens");
  } else if (static_cast<int64_t>(seq.tokens.size()) >= info_.context_length) {
    Finish(&seq, FinishReason::kLength, "context length");
  }
}

void Engine::Finish(Sequence* seq, FinishReason reason, std::string detail) {
  const EngineClock::time_point now = EngineClock::now();
  FinishedEvent finished;
  finished.reason = reason;
  finished.detail = std::move(detail);
  if (reason == FinishReason::kStop || reason == FinishReason::kLength) {
    // A stop string ends the text where it matched; otherwise release what
    // was held back.
    if (finished.detail != "stop string") {
      finished.text = seq->stop_matcher->Append(seq->decoder->Flush()).text;
      finished.text += seq->stop_matcher->Flush();
    }
  }
  finished.prompt_tokens = seq->prompt_len;
  finished.generated_tokens = seq->generated();
  finished.cached_prompt_tokens = seq->cached_prompt_tokens;
  finished.queue_seconds =
      seq->started ? Seconds(seq->first_scheduled - seq->submitted) : Seconds(now - seq->submitted);
  finished.time_to_first_token_seconds =
      seq->generated() > 0 ? Seconds(seq->first_token - seq->submitted) : 0.0;
  finished.total_seconds = Seconds(now - seq->submitted);
  finished.preemptions = seq->preemptions;

  // The load figures already exclude this request when its caller hears of it.
  scheduler_.Remove(seq);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ids_in_use_.erase(seq->request.id);
    if (!seq->started) --queued_;
    ++stats_.finished[static_cast<int>(reason)];
  }
  UpdateStats();
  seq->on_event(std::move(finished));
  live_.erase(seq->request.id);
}

void Engine::UpdateStats() {
  const BlockManager::PrefixCacheStats prefix = blocks_.prefix_stats();
  std::lock_guard<std::mutex> lock(mu_);
  stats_.running = static_cast<int64_t>(scheduler_.running().size());
  stats_.waiting = static_cast<int64_t>(scheduler_.waiting().size() + inbox_.size());
  stats_.kv_blocks_used = blocks_.num_used_blocks();
  stats_.prefix_query_tokens = prefix.query_tokens;
  stats_.prefix_hit_tokens = prefix.hit_tokens;
}

}  // namespace llmw
