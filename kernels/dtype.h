// Element types of tensors: plain floats and the GGUF block-quantized formats.
//
// The numeric values equal GGUF's tensor type ids, so a type read from a file
// maps onto DType by a range check (IsKnownDType) and a cast.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace llmw {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kBF16 = 30,
};

// How a dtype packs elements: `block_elems` consecutive elements of a row are
// stored in `block_bytes` bytes. Plain types are blocks of one element.
struct DTypeTraits {
  std::string_view name;
  int64_t block_elems;
  int64_t block_bytes;
};

// Traits of `type`, or nullopt when the id is not a type this project knows.
std::optional<DTypeTraits> TraitsOf(uint32_t type_id);

// The dtype called `name` ("Q4_0", "bf16": any case), or nullopt.
std::optional<DType> DTypeFromName(std::string_view name);

// Traits of a known dtype (never fails).
const DTypeTraits& Traits(DType type);

inline std::string_view DTypeName(DType type) { return Traits(type).name; }

// Bytes of a row of `elems` elements; `elems` must be a multiple of the block size.
inline int64_t RowBytes(DType type, int64_t elems) {
  const DTypeTraits& t = Traits(type);
  return elems / t.block_elems * t.block_bytes;
}

}  // namespace llmw
