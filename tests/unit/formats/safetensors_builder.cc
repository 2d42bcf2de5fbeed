// Safetensors bytes for tests: nlohmann::ordered_json keeps the header in the
// order the test added things.
#include "tests/unit/formats/safetensors_builder.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "kernels/fp16.h"
#include "nlohmann/json.hpp"

namespace llmw::safetensors_test {
namespace {

template <typename T>
std::string Bytes(const std::vector<T>& v) {
  std::string out(v.size() * sizeof(T), '\0');
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

template <uint16_t (*Convert)(float)>
std::string Halves(const std::vector<float>& values) {
  std::vector<uint16_t> h;
  for (float v : values) h.push_back(Convert(v));
  return Bytes(h);
}

}  // namespace

std::string Assemble(std::string_view header, std::string_view data) {
  const uint64_t n = header.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  out.append(header);
  out.append(data);
  return out;
}

SafetensorsBuilder& SafetensorsBuilder::AddMetadata(std::string key, std::string value) {
  metadata_.emplace_back(std::move(key), std::move(value));
  return *this;
}

SafetensorsBuilder& SafetensorsBuilder::Add(std::string name, std::string dtype,
                                            std::vector<int64_t> shape, std::string data) {
  tensors_.push_back({std::move(name), std::move(dtype), std::move(shape), std::move(data)});
  return *this;
}

SafetensorsBuilder& SafetensorsBuilder::AddF32(std::string name, std::vector<int64_t> shape,
                                               const std::vector<float>& values) {
  return Add(std::move(name), "F32", std::move(shape), Bytes(values));
}

SafetensorsBuilder& SafetensorsBuilder::AddF16(std::string name, std::vector<int64_t> shape,
                                               const std::vector<float>& values) {
  return Add(std::move(name), "F16", std::move(shape), Halves<Fp32ToFp16>(values));
}

SafetensorsBuilder& SafetensorsBuilder::AddBF16(std::string name, std::vector<int64_t> shape,
                                                const std::vector<float>& values) {
  return Add(std::move(name), "BF16", std::move(shape), Halves<Fp32ToBf16>(values));
}

std::string SafetensorsBuilder::Header() const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    nlohmann::ordered_json& m = header["__metadata__"] = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata_) m[key] = value;
  }
  size_t offset = 0;
  for (const Spec& t : tensors_) {
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  return header.dump();
}

std::string SafetensorsBuilder::Build() const {
  std::string header = Header();
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string data;
  for (const Spec& t : tensors_) data += t.data;
  return Assemble(header, data);
}

TempDir::TempDir() {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(test->test_suite_name()) + "." + test->name();
  for (char& c : name) {
    if (c == '/') c = '_';  // parameterized tests
  }
  path_ = ::testing::TempDir() + "llmw_" + name + "_" + std::to_string(::getpid());
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Write(std::string_view name, std::string_view bytes) const {
  const std::string path = path_ + "/" + std::string(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) ADD_FAILURE() << "cannot write " << path;
  return path;
}

}  // namespace llmw::safetensors_test
