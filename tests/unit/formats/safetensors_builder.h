// SafetensorsBuilder: writes safetensors files for tests (valid ones, laid out as
// the reference writer does), Assemble() for hand-written headers, and TempDir
// for sharded checkpoints.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmw::safetensors_test {

// The 8-byte little-endian length of `header`, `header`, then `data`; no checks.
std::string Assemble(std::string_view header, std::string_view data = "");

class SafetensorsBuilder {
 public:
  SafetensorsBuilder& AddMetadata(std::string key, std::string value);
  // Raw bytes of any dtype; a valid file needs data.size() == elements × dtype size.
  SafetensorsBuilder& Add(std::string name, std::string dtype, std::vector<int64_t> shape,
                          std::string data);
  SafetensorsBuilder& AddF32(std::string name, std::vector<int64_t> shape,
                             const std::vector<float>& values);
  // Values are rounded to nearest even.
  SafetensorsBuilder& AddF16(std::string name, std::vector<int64_t> shape,
                             const std::vector<float>& values);
  SafetensorsBuilder& AddBF16(std::string name, std::vector<int64_t> shape,
                              const std::vector<float>& values);

  // The JSON header: "__metadata__" (when any), then the tensors in the order
  // added, their data laid out back to back in that order.
  std::string Header() const;
  // The whole file, the header padded with spaces to a multiple of 8 bytes.
  std::string Build() const;

 private:
  struct Spec {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    std::string data;
  };
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::vector<Spec> tensors_;
};

// A fresh directory under ::testing::TempDir(), removed with its contents when
// the object goes away.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // Writes `bytes` to path()/name and returns that path.
  std::string Write(std::string_view name, std::string_view bytes) const;

 private:
  std::string path_;
};

}  // namespace llmw::safetensors_test
