// GgufFile: mapping + parsing at Open, and the typed metadata getters.
#include "models/formats/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace llmw {

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  absl::StatusOr<MappedFile> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  absl::StatusOr<GgufContents> contents = ParseGguf(file->bytes(), path);
  if (!contents.ok()) return contents.status();
  return std::unique_ptr<GgufFile>(new GgufFile(*std::move(file), *std::move(contents)));
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  const auto it = c_.key_index.find(key);
  return it == c_.key_index.end() ? nullptr : &c_.metadata[it->second].second;
}

absl::StatusOr<const GgufValue*> GgufFile::Lookup(std::string_view key) const {
  if (const GgufValue* v = Find(key)) return v;
  return absl::NotFoundError(
      absl::StrCat(path(), ": metadata key '", std::string(key), "' is absent"));
}

absl::Status GgufFile::WrongType(std::string_view key, std::string_view expected,
                                 const GgufValue& got) const {
  return absl::InvalidArgumentError(absl::StrCat(path(), ": metadata key '", std::string(key),
                                                 "': expected ", std::string(expected), ", got ",
                                                 GgufDescribe(got)));
}

absl::StatusOr<const GgufArray*> GgufFile::LookupArray(std::string_view key,
                                                       std::string_view expected) const {
  absl::StatusOr<const GgufValue*> v = Lookup(key);
  if (!v.ok()) return v.status();
  if (const GgufArray* a = (*v)->AsArray()) return a;
  return WrongType(key, expected, **v);
}

template <typename T>
absl::StatusOr<T> GgufFile::GetAs(std::string_view key, std::optional<T> (GgufValue::*as)() const,
                                  std::string_view expected) const {
  absl::StatusOr<const GgufValue*> v = Lookup(key);
  if (!v.ok()) return v.status();
  if (std::optional<T> x = ((**v).*as)()) return *x;
  return WrongType(key, expected, **v);
}

absl::StatusOr<std::string_view> GgufFile::GetString(std::string_view key) const {
  return GetAs(key, &GgufValue::AsString, "string");
}

absl::StatusOr<uint64_t> GgufFile::GetUint(std::string_view key) const {
  return GetAs(key, &GgufValue::AsUint, "a non-negative integer");
}

absl::StatusOr<int64_t> GgufFile::GetInt(std::string_view key) const {
  return GetAs(key, &GgufValue::AsInt, "an integer within int64");
}

absl::StatusOr<double> GgufFile::GetFloat(std::string_view key) const {
  return GetAs(key, &GgufValue::AsFloat, "f32 or f64");
}

absl::StatusOr<bool> GgufFile::GetBool(std::string_view key) const {
  return GetAs(key, &GgufValue::AsBool, "bool");
}

absl::StatusOr<uint64_t> GgufFile::GetUintOr(std::string_view key, uint64_t fallback) const {
  return Find(key) == nullptr ? fallback : GetUint(key);
}

absl::StatusOr<double> GgufFile::GetFloatOr(std::string_view key, double fallback) const {
  return Find(key) == nullptr ? fallback : GetFloat(key);
}

absl::StatusOr<bool> GgufFile::GetBoolOr(std::string_view key, bool fallback) const {
  return Find(key) == nullptr ? fallback : GetBool(key);
}

absl::StatusOr<std::vector<std::string_view>> GgufFile::GetStringArray(std::string_view key) const {
  constexpr std::string_view kExpected = "array<string>";
  absl::StatusOr<const GgufArray*> a = LookupArray(key, kExpected);
  if (!a.ok()) return a.status();
  if ((*a)->elem_type != GgufType::kString) return WrongType(key, kExpected, *Find(key));
  return (*a)->strings;
}

absl::StatusOr<std::vector<int64_t>> GgufFile::GetIntArray(std::string_view key) const {
  constexpr std::string_view kExpected = "an array of integers within int64";
  absl::StatusOr<const GgufArray*> a = LookupArray(key, kExpected);
  if (!a.ok()) return a.status();
  const GgufArray& arr = **a;
  if (GgufScalarSize(arr.elem_type) == 0 || arr.elem_type == GgufType::kBool ||
      arr.elem_type == GgufType::kFloat32 || arr.elem_type == GgufType::kFloat64) {
    return WrongType(key, kExpected, *Find(key));
  }
  std::vector<int64_t> out(arr.size);
  for (size_t i = 0; i < arr.size; ++i) {
    const std::optional<int64_t> x = arr.ScalarAt(i).AsInt();
    if (!x) {
      return absl::InvalidArgumentError(absl::StrCat(path(), ": metadata key '", std::string(key),
                                                     "'[", i, "]: value exceeds int64"));
    }
    out[i] = *x;
  }
  return out;
}

absl::StatusOr<std::vector<float>> GgufFile::GetFloatArray(std::string_view key) const {
  constexpr std::string_view kExpected = "array<f32> or array<f64>";
  absl::StatusOr<const GgufArray*> a = LookupArray(key, kExpected);
  if (!a.ok()) return a.status();
  const GgufArray& arr = **a;
  std::vector<float> out(arr.size);
  if (arr.elem_type == GgufType::kFloat32) {
    if (arr.size > 0) std::memcpy(out.data(), arr.packed, arr.size * sizeof(float));
  } else if (arr.elem_type == GgufType::kFloat64) {
    for (size_t i = 0; i < arr.size; ++i) out[i] = static_cast<float>(*arr.ScalarAt(i).AsFloat());
  } else {
    return WrongType(key, kExpected, *Find(key));
  }
  return out;
}

std::vector<std::string_view> GgufFile::keys() const {
  std::vector<std::string_view> out;
  out.reserve(c_.metadata.size());
  for (const auto& kv : c_.metadata) out.push_back(kv.first);
  return out;
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  const auto it = c_.tensor_index.find(name);
  return it == c_.tensor_index.end() ? nullptr : &c_.tensors[it->second];
}

Tensor GgufFile::TensorView(const GgufTensorInfo& info) const {
  std::vector<int64_t> shape(info.dims.rbegin(), info.dims.rend());
  // Tensor views are untyped about constness; the mapping is PROT_READ.
  void* data = const_cast<uint8_t*>(file_.data() + c_.data_offset + info.offset);
  return Tensor(info.type, shape, data);
}

}  // namespace llmw
