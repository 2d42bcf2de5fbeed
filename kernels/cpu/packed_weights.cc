// Packing of block-quantized weights into the row-group layout of packed_weights.h.
#include "kernels/cpu/packed_weights.h"

#include <algorithm>
#include <cstring>

#include "kernels/block_formats.h"

namespace llmw::cpu {
namespace {

int64_t RoundUp64(int64_t v) { return (v + 63) / 64 * 64; }

// Where one block's fields sit in the GGUF layout.
struct Fields {
  int bytes, qh, qs;  // qh < 0: none
  bool min;
};

Fields FieldsOf(DType type) {
  switch (type) {
    case DType::kQ4_0:
      return {sizeof(BlockQ4_0), -1, 2, false};
    case DType::kQ4_1:
      return {sizeof(BlockQ4_1), -1, 4, true};
    case DType::kQ5_0:
      return {sizeof(BlockQ5_0), 2, 6, false};
    case DType::kQ5_1:
      return {sizeof(BlockQ5_1), 4, 8, true};
    default:
      return {sizeof(BlockQ8_0), -1, 2, false};
  }
}

// Bit 8i + s of the result is bit 4s + i of qh.
uint32_t ReorderHighBits(uint32_t qh) {
  uint32_t out = 0;
  for (int s = 0; s < 8; ++s) {
    for (int i = 0; i < 4; ++i) out |= ((qh >> (4 * s + i)) & 1u) << (8 * i + s);
  }
  return out;
}

}  // namespace

bool IsPackable(DType type) {
  return type == DType::kQ4_0 || type == DType::kQ4_1 || type == DType::kQ5_0 ||
         type == DType::kQ5_1 || type == DType::kQ8_0;
}

PackLayout PackLayoutFor(DType type, int64_t in) {
  const int64_t nb = in / 32;
  const Fields f = FieldsOf(type);
  PackLayout l;
  l.codes = 0;
  int64_t at = RoundUp64(nb * (type == DType::kQ8_0 ? 512 : 256));
  l.qh = at;
  if (f.qh >= 0) at += RoundUp64(nb * 64);
  l.scales = at;
  at += RoundUp64(nb * 32);
  l.mins = at;
  if (f.min) at += RoundUp64(nb * 32);
  l.bytes = at;
  return l;
}

void PackRowGroup(const Tensor& w, int64_t first, uint8_t* dst) {
  const DType type = w.dtype();
  const int64_t in = w.row_elems(), nb = in / 32;
  const PackLayout l = PackLayoutFor(type, in);
  const Fields f = FieldsOf(type);
  const int64_t count = std::min(kPackRows, w.rows() - first);
  std::memset(dst, 0, static_cast<size_t>(l.bytes));
  for (int64_t r = 0; r < count; ++r) {
    const uint8_t* row = w.row(first + r);
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = row + b * f.bytes;
      std::memcpy(dst + l.scales + b * 32 + r * 2, blk, 2);
      if (f.min) std::memcpy(dst + l.mins + b * 32 + r * 2, blk + 2, 2);
      if (f.qh >= 0) {
        const uint32_t qh = ReorderHighBits(LoadQh(blk + f.qh));
        std::memcpy(dst + l.qh + b * 64 + r * 4, &qh, 4);
      }
      if (type == DType::kQ8_0) {
        uint8_t* codes = dst + l.codes + b * 512 + r * 4;
        for (int e = 0; e < 32; ++e) codes[(e / 4) * 64 + e % 4] = blk[f.qs + e] ^ 0x80;
      } else {
        uint8_t* codes = dst + l.codes + b * 256 + r * 4;
        for (int j = 0; j < 4; ++j) std::memcpy(codes + j * 64, blk + f.qs + 4 * j, 4);
      }
    }
  }
}

int64_t PackedWeights::StorageBytes(const Tensor& w) {
  return (w.rows() + kPackRows - 1) / kPackRows * PackLayoutFor(w.dtype(), w.row_elems()).bytes;
}

PackedWeights::PackedWeights(const Tensor& w) : PackedWeights(w, nullptr) {}

PackedWeights::PackedWeights(const Tensor& w, uint8_t* storage)
    : source_(w),
      layout_(PackLayoutFor(w.dtype(), w.row_elems())),
      groups_((w.rows() + kPackRows - 1) / kPackRows) {
  if (storage == nullptr) {
    owned_ = AllocateHugeBuffer(static_cast<size_t>(StorageBytes(w)));
    storage = static_cast<uint8_t*>(owned_.get());
  }
  data_ = storage;
  for (int64_t g = 0; g < groups_; ++g) PackRowGroup(w, g * kPackRows, storage + g * layout_.bytes);
}

}  // namespace llmw::cpu
