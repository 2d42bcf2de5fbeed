// GgufBuilder: writes GGUF files for tests. Files are valid by default; the
// layout records where every field landed so a test can corrupt exactly one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/dtype.h"
#include "models/formats/gguf_value.h"

namespace llmw::gguf_test {

// An encoded metadata value: its type id and the bytes that follow the type.
struct Val {
  GgufType type;
  std::string bytes;
};

Val U8(uint8_t v);
Val I8(int8_t v);
Val U16(uint16_t v);
Val I16(int16_t v);
Val U32(uint32_t v);
Val I32(int32_t v);
Val F32(float v);
Val Bool(bool v);
Val Str(std::string_view v);
Val U64(uint64_t v);
Val I64(int64_t v);
Val F64(double v);
// Every element must have type `elem` (inner arrays may differ in theirs).
Val Arr(GgufType elem, const std::vector<Val>& elems);

// File offsets of the fields of a built file.
struct GgufLayout {
  static constexpr size_t kVersion = 4;
  static constexpr size_t kTensorCount = 8;
  static constexpr size_t kKvCount = 16;
  struct Kv {
    size_t key;    // the key's length field
    size_t type;   // value type
    size_t value;  // first byte of the value (a string's or array's length field...)
  };
  struct Tensor {
    size_t name;  // the name's length field
    size_t n_dims;
    size_t dims;  // dims[0]; dims[i] is at dims + 8 * i
    size_t type;
    size_t offset;
    size_t data;  // the data itself
  };
  std::vector<Kv> kvs;
  std::vector<Tensor> tensors;
  size_t data_offset = 0;
};

class GgufBuilder {
 public:
  GgufBuilder& SetVersion(uint32_t version);
  // Adds `general.alignment` (u32) and lays the data out with that alignment.
  GgufBuilder& SetAlignment(uint32_t alignment);
  GgufBuilder& Add(std::string key, Val value);
  // `data` must have the tensor's size; when empty, a pattern is used:
  // byte j of tensor t is PatternByte(t, j).
  GgufBuilder& AddTensor(std::string name, std::vector<uint64_t> dims, DType type,
                         std::string data = "");

  // The whole file; the last tensor's data ends the file (no trailing padding).
  std::string Build(GgufLayout* layout = nullptr) const;

  static uint8_t PatternByte(size_t tensor, size_t j) {
    return static_cast<uint8_t>(j * 7 + tensor * 13 + 1);
  }

 private:
  struct TensorSpec {
    std::string name;
    std::vector<uint64_t> dims;
    DType type;
    std::string data;
  };
  uint32_t version_ = 3;
  uint64_t alignment_ = 32;
  std::vector<std::pair<std::string, Val>> kvs_;
  std::vector<TensorSpec> tensors_;
};

void PatchU32(std::string* bytes, size_t pos, uint32_t v);
void PatchU64(std::string* bytes, size_t pos, uint64_t v);

// A file under ::testing::TempDir() named after the running test; removed
// when the object goes away.
class TempFile {
 public:
  explicit TempFile(std::string_view bytes, std::string_view suffix = ".gguf");
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();

  const std::string& path() const { return path_; }
  // Replaces the contents.
  void Write(std::string_view bytes) const;

 private:
  std::string path_;
};

}  // namespace llmw::gguf_test
