// Little-endian encoding of GGUF headers, metadata, tensor infos and data.
#include "tests/unit/formats/gguf_builder.h"

#include <unistd.h>

#include <cstring>
#include <fstream>

#include "gtest/gtest.h"

namespace llmw::gguf_test {
namespace {

template <typename T>
std::string Raw(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(s.data(), &v, sizeof(T));
  return s;
}

std::string RawString(std::string_view s) { return Raw<uint64_t>(s.size()) + std::string(s); }

uint64_t AlignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

Val U8(uint8_t v) { return {GgufType::kUint8, Raw(v)}; }
Val I8(int8_t v) { return {GgufType::kInt8, Raw(v)}; }
Val U16(uint16_t v) { return {GgufType::kUint16, Raw(v)}; }
Val I16(int16_t v) { return {GgufType::kInt16, Raw(v)}; }
Val U32(uint32_t v) { return {GgufType::kUint32, Raw(v)}; }
Val I32(int32_t v) { return {GgufType::kInt32, Raw(v)}; }
Val F32(float v) { return {GgufType::kFloat32, Raw(v)}; }
Val Bool(bool v) { return {GgufType::kBool, Raw<uint8_t>(v ? 1 : 0)}; }
Val Str(std::string_view v) { return {GgufType::kString, RawString(v)}; }
Val U64(uint64_t v) { return {GgufType::kUint64, Raw(v)}; }
Val I64(int64_t v) { return {GgufType::kInt64, Raw(v)}; }
Val F64(double v) { return {GgufType::kFloat64, Raw(v)}; }

Val Arr(GgufType elem, const std::vector<Val>& elems) {
  std::string b = Raw(static_cast<uint32_t>(elem)) + Raw<uint64_t>(elems.size());
  for (const Val& e : elems) {
    if (e.type != elem) ADD_FAILURE() << "array element of type " << GgufTypeName(e.type);
    b += e.bytes;
  }
  return {GgufType::kArray, b};
}

GgufBuilder& GgufBuilder::SetVersion(uint32_t version) {
  version_ = version;
  return *this;
}

GgufBuilder& GgufBuilder::SetAlignment(uint32_t alignment) {
  alignment_ = alignment;
  return Add("general.alignment", U32(alignment));
}

GgufBuilder& GgufBuilder::Add(std::string key, Val value) {
  kvs_.emplace_back(std::move(key), std::move(value));
  return *this;
}

GgufBuilder& GgufBuilder::AddTensor(std::string name, std::vector<uint64_t> dims, DType type,
                                    std::string data) {
  if (data.empty()) {
    int64_t elems = 1;
    for (uint64_t d : dims) elems *= static_cast<int64_t>(d);
    const int64_t bytes = elems / Traits(type).block_elems * Traits(type).block_bytes;
    for (int64_t j = 0; j < bytes; ++j)
      data.push_back(static_cast<char>(PatternByte(tensors_.size(), j)));
  }
  tensors_.push_back({std::move(name), std::move(dims), type, std::move(data)});
  return *this;
}

std::string GgufBuilder::Build(GgufLayout* layout) const {
  GgufLayout l;
  std::string f =
      "GGUF" + Raw(version_) + Raw<uint64_t>(tensors_.size()) + Raw<uint64_t>(kvs_.size());
  for (const auto& [key, value] : kvs_) {
    GgufLayout::Kv kv;
    kv.key = f.size();
    f += RawString(key);
    kv.type = f.size();
    f += Raw(static_cast<uint32_t>(value.type));
    kv.value = f.size();
    f += value.bytes;
    l.kvs.push_back(kv);
  }
  uint64_t next = 0;
  std::vector<uint64_t> offsets;
  for (const TensorSpec& t : tensors_) {
    GgufLayout::Tensor lt;
    lt.name = f.size();
    f += RawString(t.name);
    lt.n_dims = f.size();
    f += Raw<uint32_t>(t.dims.size());
    lt.dims = f.size();
    for (uint64_t d : t.dims) f += Raw(d);
    lt.type = f.size();
    f += Raw(static_cast<uint32_t>(t.type));
    lt.offset = f.size();
    offsets.push_back(AlignUp(next, alignment_));
    next = offsets.back() + t.data.size();
    f += Raw(offsets.back());
    l.tensors.push_back(lt);
  }
  l.data_offset = AlignUp(f.size(), alignment_);
  if (!tensors_.empty()) f.resize(l.data_offset, '\0');
  for (size_t i = 0; i < tensors_.size(); ++i) {
    l.tensors[i].data = l.data_offset + offsets[i];
    f.resize(l.tensors[i].data, '\0');
    f += tensors_[i].data;
  }
  if (layout != nullptr) *layout = l;
  return f;
}

void PatchU32(std::string* bytes, size_t pos, uint32_t v) { bytes->replace(pos, 4, Raw(v)); }
void PatchU64(std::string* bytes, size_t pos, uint64_t v) { bytes->replace(pos, 8, Raw(v)); }

TempFile::TempFile(std::string_view bytes, std::string_view suffix) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(test->test_suite_name()) + "." + test->name();
  for (char& c : name) {
    if (c == '/') c = '_';  // parameterized tests
  }
  path_ = ::testing::TempDir() + "llmw_" + name + "_" + std::to_string(::getpid()) +
          std::string(suffix);
  Write(bytes);
}

TempFile::~TempFile() { ::unlink(path_.c_str()); }

void TempFile::Write(std::string_view bytes) const {
  std::ofstream out(path_, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) ADD_FAILURE() << "cannot write " << path_;
}

}  // namespace llmw::gguf_test
