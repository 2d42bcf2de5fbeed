// A model for engine tests: a byte-level vocabulary (ids 0..255 are bytes,
// 256 is <|endoftext|>, the end-of-generation token) and a forward pass whose
// logits depend on the whole context as read back from the paged KV cache, so
// a wrong block table, a block freed too early or a bad prefix-cache hit
// changes the output. The next token is `rule(context)` (greedy), with the
// other tokens a few logits lower so sampled requests vary with their seed.
// Forward can be paused to hold the engine in a step.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "models/model.h"
#include "models/tokenizer/bpe_tokenizer.h"
#include "models/tokenizer/byte_unicode.h"

namespace llmw::testing {

inline constexpr int32_t kFakeEos = 256;

class FakeModel : public Model {
 public:
  using Rule = std::function<int32_t(const std::vector<int32_t>& context)>;

  explicit FakeModel(int64_t max_batch_tokens = 64, int64_t context_length = 4096)
      : max_batch_tokens_(max_batch_tokens) {
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
  KvCacheShape kv_shape() const override { return {1, 1, 2}; }
  int64_t max_batch_tokens() const override { return max_batch_tokens_; }

  absl::Status Forward(const ForwardBatch& batch, KvCache& kv, std::span<float> logits) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      blocked_ = paused_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !paused_; });
      blocked_ = false;
      std::vector<int64_t> lengths;
      for (const SequenceChunk& c : batch.chunks) lengths.push_back(c.tokens.size());
      steps_.push_back(lengths);
    }
    if (batch.num_tokens() > max_batch_tokens_) {
      return absl::InvalidArgumentError(absl::StrCat("batch of ", batch.num_tokens()));
    }
    const cpu::PagedKvLayer layer = kv.Layer(0);
    int64_t row = 0;
    for (const SequenceChunk& c : batch.chunks) {
      const int32_t* table = c.blocks->data();
      for (size_t i = 0; i < c.tokens.size(); ++i) {
        float* key = layer.KeyAt(table, c.start_pos + i);
        key[0] = static_cast<float>(c.tokens[i]);
        key[1] = 1.0f;  // written
      }
      // Read the whole context back from the cache.
      const int64_t end = c.start_pos + static_cast<int64_t>(c.tokens.size());
      std::vector<int32_t> context;
      for (int64_t pos = 0; pos < end; ++pos) {
        const float* key = layer.KeyAt(table, pos);
        if (key[1] != 1.0f) return absl::InternalError("read a position never written");
        context.push_back(static_cast<int32_t>(key[0]));
      }
      float* out = logits.data() + row * info_.vocab_size;
      const int32_t next = rule_(context);
      for (int64_t v = 0; v < info_.vocab_size; ++v) {
        out[v] = v == next ? 5.0f : static_cast<float>((v * 7 + end) % 5) * 0.5f;
      }
      ++row;
    }
    return absl::OkStatus();
  }

 private:
  ModelInfo info_;
  std::unique_ptr<Tokenizer> tokenizer_;
  int64_t max_batch_tokens_;
  Rule rule_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool paused_ = false;
  bool blocked_ = false;
  std::vector<std::vector<int64_t>> steps_;
};

}  // namespace llmw::testing
