// ParseGguf: validates the bytes of a GGUF v2/v3 file and indexes its metadata
// and tensor table. Every structural problem is an error naming the file, the
// field and the problem: DATA_LOSS when the file ends before what it declares
// (a truncated file or a hostile length or count), INVALID_ARGUMENT otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/dtype.h"
#include "models/formats/gguf_value.h"

namespace llmw {

inline constexpr size_t kGgufDefaultAlignment = 32;
// Arrays of arrays deeper than this are refused (and never recursed into).
inline constexpr int kGgufMaxArrayDepth = 8;
inline constexpr int kGgufMaxDims = 4;

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // GGUF order: dims[0] is the innermost (contiguous) one
  DType type = DType::kF32;
  uint64_t offset = 0;  // within the data section
  uint64_t bytes = 0;
};

struct GgufContents {
  uint32_t version = 0;
  size_t alignment = kGgufDefaultAlignment;
  size_t data_offset = 0;                                        // file offset of the data section
  std::vector<std::pair<std::string_view, GgufValue>> metadata;  // file order
  std::unordered_map<std::string_view, size_t> key_index;
  std::vector<GgufTensorInfo> tensors;  // file order
  std::unordered_map<std::string_view, size_t> tensor_index;
};

// `bytes` is the whole file; views in the result point into it. `path` only
// names the file in messages.
absl::StatusOr<GgufContents> ParseGguf(std::span<const uint8_t> bytes, std::string_view path);

}  // namespace llmw
