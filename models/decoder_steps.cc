// Shared forward-pass steps.
#include "models/decoder_steps.h"

#include <cstring>

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
  int64_t t = 0;
  for (const SequenceChunk& chunk : batch.chunks) {
    const int64_t len = static_cast<int64_t>(chunk.tokens.size());
    const int32_t* blocks = chunk.blocks->data();
    for (int64_t i = 0; i < len; ++i) {
      const int64_t pos = chunk.start_pos + i;
      std::memcpy(cache.KeyAt(blocks, pos), k + (t + i) * kv_width, kv_width * sizeof(float));
      std::memcpy(cache.ValueAt(blocks, pos), v + (t + i) * kv_width, kv_width * sizeof(float));
    }
    cpu::PagedAttention(q + t * q_width, len, chunk.start_pos, blocks, cache, params,
                        out + t * q_width, pool);
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

void LayerMatmul::operator()(const Tensor& w, const float* x, int64_t n, float* y) {
  if (reference_) {
    cpu::MatmulReference(w, x, n, y);
  } else {
    cpu::Matmul(w, x, n, y, pool_, scratch_);
  }
}

}  // namespace llmw
