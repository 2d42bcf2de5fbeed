// Step tables on the host: a batch's layout and the padding of decode steps.
#include "models/step_tables.h"

#include <algorithm>

namespace llmw {

StepCounts FillStepTables(const ForwardBatch& batch, int64_t block_size,
                          const HostStepTables& out) {
  StepCounts counts;
  int64_t& n = counts.n_tokens;
  int64_t& n_rows = counts.n_logit_rows;
  int64_t& n_entries = counts.n_block_entries;
  for (const SequenceChunk& chunk : batch.chunks) {
    const int64_t len = static_cast<int64_t>(chunk.tokens.size());
    const int64_t end = chunk.start_pos + len;
    const int32_t* table = chunk.blocks->data();
    out.chunks[counts.n_chunks++] =
        StepChunk{static_cast<int32_t>(n), static_cast<int32_t>(len),
                  static_cast<int32_t>(chunk.start_pos), static_cast<int32_t>(n_entries)};
    const int64_t entries = (end + block_size - 1) / block_size;
    std::copy(table, table + entries, out.block_tables + n_entries);
    n_entries += entries;
    for (int64_t i = 0; i < len; ++i) {
      const int64_t pos = chunk.start_pos + i;
      out.tokens[n + i] = chunk.tokens[i];
      out.positions[n + i] = static_cast<int32_t>(pos);
      out.kv_slots[n + i] =
          static_cast<int32_t>(table[pos / block_size] * block_size + pos % block_size);
      if (chunk.logits == ChunkLogits::kAll ||
          (chunk.logits == ChunkLogits::kLast && i + 1 == len)) {
        out.logit_rows[n_rows++] = static_cast<int32_t>(n + i);
      }
    }
    n += len;
  }
  return counts;
}

bool IsDecodeStep(const ForwardBatch& batch) {
  return !batch.chunks.empty() &&
         std::all_of(batch.chunks.begin(), batch.chunks.end(), [](const SequenceChunk& c) {
           return c.tokens.size() == 1 && c.logits != ChunkLogits::kNone;
         });
}

int64_t DecodeBucket(int64_t batch_size, int64_t max_bucket) {
  if (batch_size < 1 || batch_size > max_bucket) return 0;
  int64_t bucket = 1;
  while (bucket < batch_size) bucket *= 2;
  return std::min(bucket, max_bucket);
}

StepCounts PadDecodeStep(const StepCounts& counts, int64_t bucket, int32_t padding_block,
                         int64_t block_size, const HostStepTables& out) {
  StepCounts padded = counts;
  if (counts.n_chunks >= bucket) return padded;
  const int32_t entry = static_cast<int32_t>(padded.n_block_entries++);
  out.block_tables[entry] = padding_block;
  for (int64_t c = counts.n_chunks; c < bucket; ++c) {
    const int32_t t = static_cast<int32_t>(padded.n_tokens++);
    out.chunks[padded.n_chunks++] =
        StepChunk{.first_token = t, .n_tokens = 1, .start_pos = 0, .block_table = entry};
    out.tokens[t] = 0;
    out.positions[t] = 0;
    out.kv_slots[t] = static_cast<int32_t>(padding_block * block_size);
    out.logit_rows[padded.n_logit_rows++] = t;
  }
  return padded;
}

}  // namespace llmw
