// Shared forward-pass steps.
#include "models/decoder_steps.h"

#include <algorithm>
#include <cstring>
#include <span>

#include "kernels/block_formats.h"

namespace llmw {

void LayOutBatch(const ForwardBatch& batch, int32_t* tokens, int32_t* positions) {
  int64_t t = 0;
  for (const SequenceChunk& chunk : batch.chunks) {
    for (size_t i = 0; i < chunk.tokens.size(); ++i, ++t) {
      tokens[t] = chunk.tokens[i];
      positions[t] = static_cast<int32_t>(chunk.start_pos + i);
    }
  }
}

void EmbedTokens(const Tensor& table, const int32_t* tokens, int64_t n, int64_t hidden, float* x) {
  for (int64_t t = 0; t < n; ++t) {
    DequantizeRow(table.dtype(), table.row(tokens[t]), x + t * hidden, hidden);
  }
}

void AttendChunks(const ForwardBatch& batch, const float* q, const float* k, const float* v,
                  KvCache& kv, int64_t layer, const cpu::AttentionParams& params, float* out,
                  cpu::ThreadPool& pool) {
  const cpu::PagedKvLayer cache = kv.Layer(layer);
  const int64_t q_width = params.n_heads * cache.head_dim;
  const int64_t kv_width = cache.token_stride();
  // Chunks attend kMaxChunks at a time, in one parallel loop each.
  constexpr size_t kMaxChunks = 64;
  cpu::AttentionChunk group[kMaxChunks];
  size_t grouped = 0;
  int64_t t = 0;
  for (size_t c = 0; c < batch.chunks.size(); ++c) {
    const SequenceChunk& chunk = batch.chunks[c];
    const int64_t len = static_cast<int64_t>(chunk.tokens.size());
    const int32_t* blocks = chunk.blocks->data();
    for (int64_t i = 0; i < len; ++i) {
      const int64_t pos = chunk.start_pos + i;
      std::memcpy(cache.KeyAt(blocks, pos), k + (t + i) * kv_width, kv_width * sizeof(float));
      std::memcpy(cache.ValueAt(blocks, pos), v + (t + i) * kv_width, kv_width * sizeof(float));
    }
    group[grouped++] = {q + t * q_width, len, chunk.start_pos, blocks, out + t * q_width};
    if (grouped == kMaxChunks || c + 1 == batch.chunks.size()) {
      cpu::PagedAttentionBatch(group, static_cast<int64_t>(grouped), cache, params, pool);
      grouped = 0;
    }
    t += len;
  }
}

int64_t GatherLogitRows(const ForwardBatch& batch, float* x, int64_t hidden) {
  // Rows only move towards the front, so memmove in order is safe.
  int64_t t = 0;
  int64_t rows = 0;
  for (const SequenceChunk& chunk : batch.chunks) {
    const int64_t len = static_cast<int64_t>(chunk.tokens.size());
    const int64_t first = chunk.all_logits ? 0 : len - 1;
    for (int64_t i = first; i < len; ++i, ++rows) {
      std::memmove(x + rows * hidden, x + (t + i) * hidden, hidden * sizeof(float));
    }
    t += len;
  }
  return rows;
}

void LayerMatmul::Prepare(const Tensor& w) {
  if (!reference_ && cpu::IsPackable(w.dtype())) Packed(w);
}

const cpu::PackedWeights& LayerMatmul::Packed(const Tensor& w) {
  std::unique_ptr<cpu::PackedWeights>& packed = packed_[Key(w.data(), w.rows(), w.dtype())];
  if (packed != nullptr) return *packed;
  constexpr int64_t kChunkBytes = int64_t{32} << 20;
  const int64_t bytes = cpu::PackedWeights::StorageBytes(w);  // a multiple of 64
  if (bytes > chunk_free_) {
    const int64_t size = std::max(kChunkBytes, bytes);
    chunks_.push_back(cpu::AllocateHugeBuffer(static_cast<size_t>(size)));
    chunk_next_ = static_cast<uint8_t*>(chunks_.back().get());
    chunk_free_ = size;
  }
  packed = std::make_unique<cpu::PackedWeights>(w, chunk_next_);
  chunk_next_ += bytes;
  chunk_free_ -= bytes;
  return *packed;
}

void LayerMatmul::operator()(std::initializer_list<Output> outputs, const float* x, int64_t n) {
  constexpr size_t kMaxOutputs = 4;
  bool shared = !reference_ && outputs.size() <= kMaxOutputs;
  for (const Output& o : outputs) shared = shared && cpu::IsPackable(o.w.dtype());
  if (!shared) {
    for (const Output& o : outputs) (*this)(o.w, x, n, o.y);
    return;
  }
  cpu::MatmulTarget targets[kMaxOutputs];
  size_t count = 0;
  for (const Output& o : outputs) targets[count++] = {&Packed(o.w), o.y};
  cpu::MatmulShared(std::span<const cpu::MatmulTarget>(targets, count), x, n, pool_, scratch_);
}

void LayerMatmul::operator()(const Tensor& w, const float* x, int64_t n, float* y) {
  if (reference_) {
    cpu::MatmulReference(w, x, n, y);
  } else if (cpu::IsPackable(w.dtype())) {
    cpu::Matmul(Packed(w), x, n, y, pool_, scratch_);
  } else {
    cpu::Matmul(w, x, n, y, pool_, scratch_);
  }
}

}  // namespace llmw
