// GgufFile: a validated, memory-mapped GGUF v2/v3 checkpoint. Metadata is read
// through typed getters; tensors are views of the mapped bytes (no copy).
//
//   absl::StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(path);
//   absl::StatusOr<uint64_t> hidden = (*f)->GetUint("llama.embedding_length");
//   Tensor embd = (*f)->TensorView(*(*f)->FindTensor("token_embd.weight"));
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/tensor.h"
#include "models/formats/gguf_parser.h"
#include "models/formats/gguf_value.h"
#include "models/formats/mapped_file.h"

namespace llmw {

class GgufFile {
 public:
  // Maps and validates the whole file; see gguf_parser.h for the error codes.
  static absl::StatusOr<std::unique_ptr<GgufFile>> Open(const std::string& path);

  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return file_.path(); }
  uint32_t version() const { return c_.version; }
  size_t alignment() const { return c_.alignment; }
  // File offset of the data section that tensor offsets are relative to.
  size_t data_offset() const { return c_.data_offset; }

  // nullptr when absent.
  const GgufValue* Find(std::string_view key) const;

  // Typed getters: NOT_FOUND when the key is absent, INVALID_ARGUMENT (naming
  // the key, the expected and the actual type) when the value does not fit.
  absl::StatusOr<std::string_view> GetString(std::string_view key) const;
  absl::StatusOr<uint64_t> GetUint(std::string_view key) const;  // unsigned or non-negative signed
  absl::StatusOr<int64_t> GetInt(std::string_view key) const;    // any integer that fits int64
  absl::StatusOr<double> GetFloat(std::string_view key) const;   // f32 or f64
  absl::StatusOr<bool> GetBool(std::string_view key) const;
  absl::StatusOr<std::vector<std::string_view>> GetStringArray(std::string_view key) const;
  absl::StatusOr<std::vector<int64_t>> GetIntArray(std::string_view key) const;
  absl::StatusOr<std::vector<float>> GetFloatArray(std::string_view key) const;  // f32 or f64

  // `fallback` when the key is absent; still an error when its type does not fit.
  absl::StatusOr<uint64_t> GetUintOr(std::string_view key, uint64_t fallback) const;
  absl::StatusOr<double> GetFloatOr(std::string_view key, double fallback) const;
  absl::StatusOr<bool> GetBoolOr(std::string_view key, bool fallback) const;

  // Metadata keys in file order.
  std::vector<std::string_view> keys() const;

  const std::vector<GgufTensorInfo>& tensors() const { return c_.tensors; }
  // nullptr when absent.
  const GgufTensorInfo* FindTensor(std::string_view name) const;

  // The tensor's mapped bytes, shape outermost-first (GGUF dims reversed).
  // `info` must come from this file. The memory is read-only.
  Tensor TensorView(const GgufTensorInfo& info) const;

 private:
  GgufFile(MappedFile file, GgufContents contents)
      : file_(std::move(file)), c_(std::move(contents)) {}

  // Looks `key` up and converts it with `as`, naming `expected` on a mismatch.
  template <typename T>
  absl::StatusOr<T> GetAs(std::string_view key, std::optional<T> (GgufValue::*as)() const,
                          std::string_view expected) const;
  absl::StatusOr<const GgufValue*> Lookup(std::string_view key) const;
  absl::StatusOr<const GgufArray*> LookupArray(std::string_view key,
                                               std::string_view expected) const;
  absl::Status WrongType(std::string_view key, std::string_view expected,
                         const GgufValue& got) const;

  MappedFile file_;
  GgufContents c_;  // views into file_
};

}  // namespace llmw
