// SafetensorsFile: a validated, memory-mapped safetensors file. Tensors are
// views of the mapped bytes (no copy); the file stays mapped while any
// shared_ptr to it lives. The reference writer aligns every tensor to its
// element size; files that are not aligned (the format allows any header
// length, and old writers did not pad) get their misaligned F32/F16/BF16
// tensors copied once at Open, so that no kernel reads a misaligned float.
//
//   absl::StatusOr<std::shared_ptr<SafetensorsFile>> f = SafetensorsFile::Open(path);
//   absl::StatusOr<Tensor> w = (*f)->GetTensor("model.norm.weight");
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/tensor.h"
#include "models/formats/mapped_file.h"
#include "models/formats/safetensors_parser.h"

namespace llmw {

class SafetensorsFile {
 public:
  // Maps and validates the whole file; see safetensors_parser.h for the errors.
  static absl::StatusOr<std::shared_ptr<SafetensorsFile>> Open(const std::string& path);

  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return file_.path(); }
  // File offset of the data section that tensor ranges are relative to.
  size_t data_offset() const { return c_.data_offset; }
  const std::map<std::string, std::string>& metadata() const { return c_.metadata; }
  // In data order.
  const std::vector<SafetensorsTensor>& tensors() const { return c_.tensors; }
  // nullptr when absent.
  const SafetensorsTensor* FindTensor(std::string_view name) const;

  // The tensor's bytes (read-only memory; device CPU): the mapping, or the
  // aligned copy made at Open. `info` must come from this file. UNIMPLEMENTED when its dtype is not
  // F32, F16 or BF16, or it has more dimensions than a Tensor holds.
  absl::StatusOr<Tensor> TensorView(const SafetensorsTensor& info) const;
  // The tensor's mapped bytes whatever its dtype (e.g. an I64 buffer), as
  // stored (maybe misaligned). `info` must come from this file.
  std::span<const uint8_t> RawBytes(const SafetensorsTensor& info) const {
    return file_.bytes().subspan(c_.data_offset + info.begin, info.bytes());
  }
  // FindTensor + TensorView; NOT_FOUND naming the tensor and the file.
  absl::StatusOr<Tensor> GetTensor(std::string_view name) const;

 private:
  SafetensorsFile(MappedFile file, SafetensorsContents contents);

  MappedFile file_;
  SafetensorsContents c_;
  std::unordered_map<std::string_view, size_t> index_;  // views of c_.tensors' names
  std::vector<const uint8_t*> data_;                    // per tensor: mapping or copies_
  std::vector<std::unique_ptr<uint8_t[]>> copies_;      // misaligned tensors, realigned
};

}  // namespace llmw
