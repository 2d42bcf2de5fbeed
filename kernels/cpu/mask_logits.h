// cpu::MaskLogits: a structured output's token mask applied to logit rows, so that sampling, and
// the candidates read back for it, see only the tokens the output's format allows. The reference
// of cuda::MaskLogits.
#pragma once

#include <cstdint>

namespace llmw::cpu {

// For each row r of `logits` ([rows, vocab]) with mask_offsets[r] >= 0: logits[r][v] = -inf for
// every v whose bit v % 32 of allowed[mask_offsets[r] + v / 32] is 0. Rows with a negative offset
// are left as they are.
void MaskLogits(float* logits, int64_t rows, int64_t vocab, const uint32_t* allowed,
                const int32_t* mask_offsets);

}  // namespace llmw::cpu
