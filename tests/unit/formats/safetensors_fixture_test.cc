// Files written by the real `safetensors` Python package (and sharded by
// huggingface_hub) read back with the values the generating script recorded:
// tests/fixtures/safetensors/make_safetensors_fixtures.py.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/fp16.h"
#include "models/formats/safetensors_checkpoint.h"
#include "models/formats/safetensors_file.h"
#include "nlohmann/json.hpp"

namespace llmw {
namespace {

using Json = nlohmann::json;

std::string FixtureDir() {
  const char* root = std::getenv("LLMW_SOURCE_DIR");
  return std::string(root ? root : ".") + "/tests/fixtures/safetensors";
}

Json Expected() {
  std::ifstream in(FixtureDir() + "/expected.json");
  std::stringstream text;
  text << in.rdbuf();
  return Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
}

// The tensor's elements as doubles (I64 read from the raw bytes).
std::vector<double> Values(const SafetensorsFile& file, const SafetensorsTensor& info) {
  std::vector<double> out;
  const std::span<const uint8_t> raw = file.RawBytes(info);
  const size_t size = info.dtype_name == "F32" ? 4 : info.dtype_name == "I64" ? 8 : 2;
  const size_t n = raw.size() / size;
  for (size_t i = 0; i < n; ++i) {
    if (info.dtype_name == "F32") {
      float v;
      std::memcpy(&v, raw.data() + 4 * i, 4);
      out.push_back(v);
    } else if (info.dtype_name == "I64") {
      int64_t v;
      std::memcpy(&v, raw.data() + 8 * i, 8);
      out.push_back(static_cast<double>(v));
    } else {
      uint16_t h;
      std::memcpy(&h, raw.data() + 2 * i, 2);
      out.push_back(info.dtype_name == "F16" ? Fp16ToFp32(h) : Bf16ToFp32(h));
    }
  }
  return out;
}

// Checks `name` in `file` against its expected.json entry.
void ExpectTensor(const SafetensorsFile& file, const std::string& name, const Json& want) {
  SCOPED_TRACE(name);
  const SafetensorsTensor* info = file.FindTensor(name);
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->dtype_name, want["dtype"].get<std::string>());
  EXPECT_EQ(info->shape, want["shape"].get<std::vector<int64_t>>());
  EXPECT_EQ(Values(file, *info), want["values"].get<std::vector<double>>());
  absl::StatusOr<Tensor> view = file.TensorView(*info);
  if (info->dtype_name == "I64") {
    EXPECT_EQ(view.status().code(), absl::StatusCode::kUnimplemented);
  } else {
    ASSERT_TRUE(view.ok()) << view.status();
    EXPECT_EQ(view->data(), file.RawBytes(*info).data());
    EXPECT_EQ(view->elems(), static_cast<int64_t>(want["values"].size()));
  }
}

TEST(SafetensorsFixtureTest, SingleFileFromThePythonPackage) {
  const Json expected = Expected();
  ASSERT_TRUE(expected.is_object()) << "cannot read expected.json under " << FixtureDir();
  const Json& want = expected["tiny.safetensors"];
  absl::StatusOr<std::shared_ptr<SafetensorsFile>> f =
      SafetensorsFile::Open(FixtureDir() + "/tiny.safetensors");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->metadata(), (want["metadata"].get<std::map<std::string, std::string>>()));
  EXPECT_EQ((*f)->tensors().size(), want["tensors"].size());
  for (const auto& [name, t] : want["tensors"].items()) ExpectTensor(**f, name, t);
}

TEST(SafetensorsFixtureTest, ShardedCheckpointFromHuggingFaceHub) {
  const Json expected = Expected();
  ASSERT_TRUE(expected.is_object()) << "cannot read expected.json under " << FixtureDir();
  const Json& want = expected["sharded"]["tensors"];
  absl::StatusOr<std::shared_ptr<SafetensorsCheckpoint>> c =
      SafetensorsCheckpoint::Open(FixtureDir() + "/sharded");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->files().size(), 2u);
  EXPECT_EQ((*c)->tensor_names().size(), want.size());
  for (const auto& [name, t] : want.items()) {
    ASSERT_TRUE((*c)->Has(name)) << name;
    // The tensor's own file, found through the checkpoint's shards.
    for (const std::shared_ptr<SafetensorsFile>& file : (*c)->files()) {
      if (file->FindTensor(name) != nullptr) ExpectTensor(*file, name, t);
    }
    absl::StatusOr<Tensor> view = (*c)->Get(name);
    ASSERT_TRUE(view.ok()) << view.status();
    EXPECT_EQ(view->elems(), static_cast<int64_t>(t["values"].size()));
  }
}

}  // namespace
}  // namespace llmw
