// ParseSafetensors: validates the bytes of a safetensors file and indexes its
// tensors. A file is an 8-byte little-endian header length N, N bytes of JSON
// (an object: "__metadata__" → {string: string}, and per tensor {"dtype",
// "shape", "data_offsets": [begin, end)} relative to the data section), then the
// data section, which the tensors must cover exactly, without holes or overlaps.
//
// Every problem is an error naming the file (and the tensor): DATA_LOSS when the
// file ends before what it declares, INVALID_ARGUMENT otherwise. Dtypes the
// format defines but this project cannot compute with (I64, F8_E4M3, ...) are
// valid here; they fail only when such a tensor is asked for as a Tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/dtype.h"

namespace llmw {

// Headers larger than this are refused as hostile (the reference reader's limit).
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

struct SafetensorsTensor {
  std::string name;
  std::string dtype_name;      // as stored: "F32", "BF16", "I64", ...
  std::optional<DType> type;   // set for the dtypes we compute with: F32, F16, BF16
  std::vector<int64_t> shape;  // outermost first, as stored
  uint64_t begin = 0;          // byte range [begin, end) within the data section
  uint64_t end = 0;

  uint64_t bytes() const { return end - begin; }
};

struct SafetensorsContents {
  size_t data_offset = 0;                  // file offset of the data section: 8 + header length
  std::vector<SafetensorsTensor> tensors;  // in data order
  std::map<std::string, std::string> metadata;
};

// `bytes` is the whole file; `path` only names it in messages.
absl::StatusOr<SafetensorsContents> ParseSafetensors(std::span<const uint8_t> bytes,
                                                     std::string_view path);

}  // namespace llmw
