// SafetensorsFile: mapping + parsing at Open, and tensor views of the mapping.
#include "models/formats/safetensors_file.h"

#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace llmw {

absl::StatusOr<std::shared_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  absl::StatusOr<MappedFile> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  absl::StatusOr<SafetensorsContents> contents = ParseSafetensors(file->bytes(), path);
  if (!contents.ok()) return contents.status();
  return std::shared_ptr<SafetensorsFile>(
      new SafetensorsFile(*std::move(file), *std::move(contents)));
}

SafetensorsFile::SafetensorsFile(MappedFile file, SafetensorsContents contents)
    : file_(std::move(file)), c_(std::move(contents)) {
  for (size_t i = 0; i < c_.tensors.size(); ++i) {
    const SafetensorsTensor& t = c_.tensors[i];
    index_.emplace(t.name, i);
    const uint8_t* mapped = file_.data() + c_.data_offset + t.begin;
    const size_t align = t.type ? static_cast<size_t>(Traits(*t.type).block_bytes) : 1;
    if (reinterpret_cast<uintptr_t>(mapped) % align == 0 || t.bytes() == 0) {
      data_.push_back(mapped);
      continue;
    }
    // operator new[] aligns to at least __STDCPP_DEFAULT_NEW_ALIGNMENT__ (16).
    copies_.emplace_back(new uint8_t[t.bytes()]);
    std::memcpy(copies_.back().get(), mapped, t.bytes());
    data_.push_back(copies_.back().get());
  }
}

const SafetensorsTensor* SafetensorsFile::FindTensor(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &c_.tensors[it->second];
}

absl::StatusOr<Tensor> SafetensorsFile::TensorView(const SafetensorsTensor& info) const {
  if (!info.type) {
    return absl::UnimplementedError(absl::StrCat(path(), ": tensor \"", info.name, "\": dtype ",
                                                 info.dtype_name,
                                                 " is not supported (only F32, F16 and BF16 are)"));
  }
  if (info.shape.size() > Tensor::kMaxDims) {
    return absl::UnimplementedError(absl::StrCat(path(), ": tensor \"", info.name,
                                                 "\": ", info.shape.size(), " dimensions; at most ",
                                                 Tensor::kMaxDims, " are supported"));
  }
  // Tensor views are untyped about constness; the memory is read-only.
  void* data = const_cast<uint8_t*>(data_[&info - c_.tensors.data()]);
  return Tensor(*info.type, info.shape, data);
}

absl::StatusOr<Tensor> SafetensorsFile::GetTensor(std::string_view name) const {
  const SafetensorsTensor* info = FindTensor(name);
  if (info == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(path(), ": no tensor named \"", std::string(name), "\""));
  }
  return TensorView(*info);
}

}  // namespace llmw
