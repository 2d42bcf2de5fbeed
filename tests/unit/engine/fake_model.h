// A model for engine tests: a byte-level vocabulary (ids 0..255 are bytes,
// 256 is <|endoftext|>, the end-of-generation token) and a forward pass whose
// logits depend on the whole context as read back from the paged KV cache, so
// a wrong block table, a block freed too early or a bad prefix-cache hit
// changes the output. The next token is `rule(context)` (greedy), with the
// other tokens a few logits lower so sampled requests vary with their seed.
// Forward can be paused to hold the engine in a step. It runs on the CPU backend only (it reads
// the step and the cache on the host), through the runner of a FakeEngine.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/cpu/cpu_backend.h"
#include "models/model.h"
#include "models/model_runner.h"
#include "models/tokenizer/bpe_tokenizer.h"
#include "models/tokenizer/byte_unicode.h"
#include "worker/engine/engine.h"

namespace llmw::testing {

inline constexpr int32_t kFakeEos = 256;

class FakeModel : public Model {
 public:
  using Rule = std::function<int32_t(const std::vector<int32_t>& context)>;

  explicit FakeModel(int64_t max_batch_tokens = 64, int64_t context_length = 4096)
      : max_batch_tokens_(max_batch_tokens) {
    shape_ = ModelShape{.n_layers = 1,
                        .hidden = 2,
                        .n_heads = 1,
                        .n_kv_heads = 1,
                        .head_dim = 2,
                        .ffn_hidden = 2,
                        .vocab_size = 257,
                        .rope_dim = 2};
    BpeVocab vocab;
    for (int b = 0; b < 256; ++b) {
      std::string text;
      AppendBytesAsUnicode(std::string(1, static_cast<char>(b)), &text);
      vocab.tokens.push_back(text);
      vocab.types.push_back(TokenType::kNormal);
    }
    vocab.tokens.push_back("<|endoftext|>");
    vocab.types.push_back(TokenType::kControl);
    vocab.eos_id = kFakeEos;
    tokenizer_ = std::move(*BpeTokenizer::Create(std::move(vocab)));
    info_.name = "fake";
    info_.architecture = "fake";
    info_.context_length = context_length;
    info_.vocab_size = 257;
    // By default: the sum of the context's tokens plus its length, as a letter.
    rule_ = [](const std::vector<int32_t>& context) {
      int64_t sum = 0;
      for (int32_t t : context) sum += t;
      return static_cast<int32_t>('a' + (sum + context.size()) % 26);
    };
  }

  void set_rule(Rule rule) { rule_ = std::move(rule); }

  // While paused, Forward blocks at its start.
  void Pause() {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = true;
  }
  void Resume() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      paused_ = false;
    }
    cv_.notify_all();
  }
  // Blocks until a Forward call is waiting at the pause.
  void WaitUntilBlocked() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return blocked_; });
  }

  // Chunk lengths of every Forward call so far, and the start positions.
  std::vector<std::vector<int64_t>> steps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return steps_;
  }

  const ModelInfo& info() const override { return info_; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  const ModelShape& shape() const override { return shape_; }
  // The most tokens a step may carry in the tests.
  int64_t max_batch_tokens() const { return max_batch_tokens_; }

  absl::Status Forward(const StepLayout& step, Workspace&, KvCache& kv,
                       const Tensor& logits) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      blocked_ = paused_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !paused_; });
      blocked_ = false;
      std::vector<int64_t> lengths;
      for (int64_t c = 0; c < step.n_chunks; ++c) lengths.push_back(step.chunks[c].n_tokens);
      steps_.push_back(lengths);
    }
    if (step.n_tokens > max_batch_tokens_) {
      return absl::InvalidArgumentError(absl::StrCat("batch of ", step.n_tokens));
    }
    const PagedKvLayer layer = kv.Layer(0);
    for (int64_t t = 0; t < step.n_tokens; ++t) {
      float* key = static_cast<float*>(layer.k) + step.kv_slots[t] * layer.token_stride();
      key[0] = static_cast<float>(step.tokens[t]);
      key[1] = 1.0f;  // written
    }
    for (int64_t row = 0; row < step.n_logit_rows; ++row) {
      const int64_t t = step.logit_rows[row];
      int64_t c = 0;
      while (t >= step.chunks[c].first_token + step.chunks[c].n_tokens) ++c;
      const StepChunk& chunk = step.chunks[c];
      const int32_t* table = step.block_tables + chunk.block_table;
      // Read the whole context up to this token back from the cache.
      const int64_t end = chunk.start_pos + (t - chunk.first_token) + 1;
      std::vector<int32_t> context;
      for (int64_t pos = 0; pos < end; ++pos) {
        const float* key = layer.KeyAt(table, pos);
        if (key[1] != 1.0f) return absl::InternalError("read a position never written");
        context.push_back(static_cast<int32_t>(key[0]));
      }
      float* out = logits.data_as<float>() + row * info_.vocab_size;
      const int32_t next = rule_(context);
      for (int64_t v = 0; v < info_.vocab_size; ++v) {
        out[v] = v == next ? 5.0f : static_cast<float>((v * 7 + end) % 5) * 0.5f;
      }
    }
    return absl::OkStatus();
  }

 private:
  ModelInfo info_;
  ModelShape shape_;
  std::unique_ptr<Tokenizer> tokenizer_;
  int64_t max_batch_tokens_;
  Rule rule_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool paused_ = false;
  bool blocked_ = false;
  std::vector<std::vector<int64_t>> steps_;
};

// The engine options of a test, with the KV cache's, which belong to the runner.
struct FakeEngineOptions : EngineOptions {
  int64_t block_size = 16;
  int64_t kv_cache_bytes = 0;
};

// An engine over `model` (which the test keeps, to pause it or change its rule), with the runner
// it drives.
class FakeEngine {
 public:
  FakeEngine(FakeModel& model, const FakeEngineOptions& options) {
    RunnerOptions r;
    r.backend.threads = 1;
    r.max_batch_tokens = model.max_batch_tokens();
    r.max_sequences = options.max_running;
    r.kv.block_size = options.block_size;
    r.kv.bytes = options.kv_cache_bytes;
    auto runner = ModelRunner::Create(std::make_unique<cpu::CpuBackend>(cpu::CpuBackendOptions{1}),
                                      std::make_unique<ModelView>(model), r);
    status_ = runner.status();
    if (!runner.ok()) return;
    runner_ = std::move(*runner);
    auto engine = Engine::Create(*runner_, options);
    status_ = engine.status();
    if (engine.ok()) engine_ = std::move(*engine);
  }

  const absl::Status& status() const { return status_; }
  Engine* operator->() const { return engine_.get(); }
  // Destroys the engine (cancelling what is live), then the runner.
  void reset() {
    engine_.reset();
    runner_.reset();
  }

 private:
  // The runner owns its model; this one forwards to the test's.
  class ModelView : public Model {
   public:
    explicit ModelView(Model& model) : model_(model) {}
    const ModelInfo& info() const override { return model_.info(); }
    const Tokenizer& tokenizer() const override { return model_.tokenizer(); }
    const ModelShape& shape() const override { return model_.shape(); }
    absl::Status Forward(const StepLayout& step, Workspace& ws, KvCache& kv,
                         const Tensor& logits) override {
      return model_.Forward(step, ws, kv, logits);
    }

   private:
    Model& model_;
  };

  absl::Status status_;
  std::unique_ptr<ModelRunner> runner_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace llmw::testing
