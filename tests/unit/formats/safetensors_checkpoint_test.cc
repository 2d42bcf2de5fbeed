// SafetensorsCheckpoint on model directories built in a temp dir: the single
// file, the index + shards layout, and directories whose files disagree.
#include "models/formats/safetensors_checkpoint.h"

#include <filesystem>
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/formats/safetensors_builder.h"

namespace llmw {
namespace {

using safetensors_test::SafetensorsBuilder;
using safetensors_test::TempDir;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kShard1[] = "model-00001-of-00002.safetensors";
constexpr char kShard2[] = "model-00002-of-00002.safetensors";

std::string Shard1() {
  return SafetensorsBuilder()
      .AddMetadata("format", "pt")
      .AddF32("model.embed_tokens.weight", {2, 2}, {1, 2, 3, 4})
      .AddBF16("model.layers.0.mlp.up_proj.weight", {1, 2}, {5, 6})
      .Build();
}

std::string Shard2() {
  return SafetensorsBuilder()
      .AddF16("model.norm.weight", {2}, {7, 8})
      .Add("position_ids", "I64", {1}, std::string(8, '\0'))
      .Build();
}

std::string Index(std::string_view weight_map_entries) {
  return absl::StrCat(R"({"metadata": {"total_size": 36}, "weight_map": {)",
                      std::string(weight_map_entries), "}}");
}

// The index that matches Shard1() and Shard2().
std::string GoodIndex() {
  return Index(absl::StrCat(R"("model.embed_tokens.weight": ")", kShard1, R"(",)",
                            R"("model.layers.0.mlp.up_proj.weight": ")", kShard1, R"(",)",
                            R"("model.norm.weight": ")", kShard2, R"(",)", R"("position_ids": ")",
                            kShard2, R"(")"));
}

void WriteSharded(const TempDir& dir, const std::string& index) {
  dir.Write(kShard1, Shard1());
  dir.Write(kShard2, Shard2());
  dir.Write("model.safetensors.index.json", index);
}

std::shared_ptr<SafetensorsCheckpoint> OpenOrDie(const TempDir& dir) {
  absl::StatusOr<std::shared_ptr<SafetensorsCheckpoint>> c =
      SafetensorsCheckpoint::Open(dir.path());
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

void ExpectOpenError(const TempDir& dir, absl::StatusCode code,
                     const std::vector<std::string>& phrases) {
  absl::StatusOr<std::shared_ptr<SafetensorsCheckpoint>> c =
      SafetensorsCheckpoint::Open(dir.path());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), code) << c.status();
  for (const std::string& p : phrases) EXPECT_THAT(c.status().message(), HasSubstr(p));
}

float F32At(const Tensor& t, int i) { return t.data_as<const float>()[i]; }

TEST(SafetensorsCheckpointTest, SingleFile) {
  TempDir dir;
  dir.Write("model.safetensors", Shard1());
  std::shared_ptr<SafetensorsCheckpoint> c = OpenOrDie(dir);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->directory(), dir.path());
  EXPECT_EQ(c->files().size(), 1u);
  EXPECT_THAT(c->tensor_names(),
              ElementsAre("model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight"));
  EXPECT_TRUE(c->Has("model.embed_tokens.weight"));
  EXPECT_FALSE(c->Has("model.norm.weight"));
  absl::StatusOr<Tensor> e = c->Get("model.embed_tokens.weight");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(F32At(*e, 3), 4.0f);
  EXPECT_EQ(c->Find("model.layers.0.mlp.up_proj.weight")->type, DType::kBF16);
}

TEST(SafetensorsCheckpointTest, SingleFileWinsOverAnIndex) {
  TempDir dir;
  dir.Write("model.safetensors", Shard2());
  dir.Write("model.safetensors.index.json", "not even JSON");
  std::shared_ptr<SafetensorsCheckpoint> c = OpenOrDie(dir);
  ASSERT_NE(c, nullptr);
  EXPECT_THAT(c->tensor_names(), ElementsAre("model.norm.weight", "position_ids"));
}

TEST(SafetensorsCheckpointTest, Sharded) {
  TempDir dir;
  WriteSharded(dir, GoodIndex());
  std::shared_ptr<SafetensorsCheckpoint> c = OpenOrDie(dir);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->files().size(), 2u);  // each shard once, though named twice
  EXPECT_EQ(c->files()[0]->path(), dir.path() + "/" + kShard1);
  EXPECT_THAT(c->tensor_names(),
              ElementsAre("model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight",
                          "model.norm.weight", "position_ids"));
  absl::StatusOr<Tensor> e = c->Get("model.embed_tokens.weight");
  absl::StatusOr<Tensor> n = c->Get("model.norm.weight");
  ASSERT_TRUE(e.ok() && n.ok());
  EXPECT_EQ(F32At(*e, 0), 1.0f);
  EXPECT_EQ(n->dtype(), DType::kF16);
  EXPECT_EQ(n->dim(0), 2);

  absl::StatusOr<Tensor> ids = c->Get("position_ids");
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(ids.status().message(), AllOf(HasSubstr(kShard2), HasSubstr("dtype I64")));
}

TEST(SafetensorsCheckpointTest, FilesOutliveTheCheckpoint) {
  TempDir dir;
  WriteSharded(dir, GoodIndex());
  std::shared_ptr<SafetensorsFile> shard;
  {
    std::shared_ptr<SafetensorsCheckpoint> c = OpenOrDie(dir);
    ASSERT_NE(c, nullptr);
    shard = c->files()[1];
  }
  absl::StatusOr<Tensor> n = shard->GetTensor("model.norm.weight");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->bytes(), 4);
}

TEST(SafetensorsCheckpointTest, ShardTensorsTheIndexOmitsAreStillThere) {
  TempDir dir;
  WriteSharded(dir, Index(absl::StrCat(R"("model.embed_tokens.weight": ")", kShard1,
                                       R"(", "model.norm.weight": ")", kShard2, R"(")")));
  std::shared_ptr<SafetensorsCheckpoint> c = OpenOrDie(dir);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->Has("position_ids"));
  EXPECT_TRUE(c->Has("model.layers.0.mlp.up_proj.weight"));
}

TEST(SafetensorsCheckpointTest, AbsentTensor) {
  TempDir dir;
  WriteSharded(dir, GoodIndex());
  std::shared_ptr<SafetensorsCheckpoint> c = OpenOrDie(dir);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->Find("lm_head.weight"), nullptr);
  absl::StatusOr<Tensor> t = c->Get("lm_head.weight");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(t.status().message(),
              AllOf(HasSubstr("tensor \"lm_head.weight\" is not in the checkpoint"),
                    HasSubstr(dir.path())));
}

TEST(SafetensorsCheckpointTest, MissingDirectoryOrFiles) {
  TempDir dir;
  const std::string missing = dir.path() + "/nope";
  absl::StatusOr<std::shared_ptr<SafetensorsCheckpoint>> c = SafetensorsCheckpoint::Open(missing);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr(missing + ": no such directory"));

  ExpectOpenError(dir, absl::StatusCode::kNotFound,
                  {dir.path(), "neither model.safetensors nor model.safetensors.index.json"});
}

TEST(SafetensorsCheckpointTest, MissingShard) {
  TempDir dir;
  WriteSharded(dir, GoodIndex());
  std::filesystem::remove(dir.path() + "/" + kShard2);
  ExpectOpenError(dir, absl::StatusCode::kNotFound,
                  {"model.safetensors.index.json: shard \"" + std::string(kShard2) + "\"",
                   dir.path() + "/" + kShard2 + ": cannot open"});
}

TEST(SafetensorsCheckpointTest, ShardLacksATensorTheIndexPutsThere) {
  TempDir dir;
  WriteSharded(dir, Index(absl::StrCat(R"("model.embed_tokens.weight": ")", kShard1,
                                       R"(", "lm_head.weight": ")", kShard2, R"(")")));
  ExpectOpenError(dir, absl::StatusCode::kInvalidArgument,
                  {"tensor \"lm_head.weight\" is mapped to shard \"" + std::string(kShard2) +
                   "\", which lacks it"});
  // A tensor the index puts in the wrong shard.
  WriteSharded(dir, Index(absl::StrCat(R"("model.norm.weight": ")", kShard1, R"(")")));
  ExpectOpenError(dir, absl::StatusCode::kInvalidArgument,
                  {"tensor \"model.norm.weight\" is mapped to shard \"" + std::string(kShard1)});
}

TEST(SafetensorsCheckpointTest, TensorInTwoShards) {
  TempDir dir;
  WriteSharded(dir, GoodIndex());
  dir.Write(kShard2, SafetensorsBuilder()
                         .AddF16("model.norm.weight", {2}, {7, 8})
                         .Add("position_ids", "I64", {1}, std::string(8, '\0'))
                         .AddF32("model.embed_tokens.weight", {1}, {0})
                         .Build());
  ExpectOpenError(dir, absl::StatusCode::kInvalidArgument,
                  {"tensor \"model.embed_tokens.weight\" is in both", kShard1, kShard2});
}

TEST(SafetensorsCheckpointTest, BrokenIndex) {
  TempDir dir;
  const auto expect = [&](const std::string& index, const std::string& phrase) {
    WriteSharded(dir, index);
    ExpectOpenError(dir, absl::StatusCode::kInvalidArgument,
                    {dir.path() + "/model.safetensors.index.json: " + phrase});
  };
  expect("{\"weight_map\": ", "not valid JSON");
  expect("[]", "not a JSON object");
  expect(R"({"metadata": {}})", "missing \"weight_map\"");
  expect(R"({"weight_map": []})", "\"weight_map\" is not a non-empty object");
  expect(R"({"weight_map": {}})", "\"weight_map\" is not a non-empty object");
  expect(R"({"weight_map": {"a": 1}})", "\"weight_map\" entry \"a\" is not the file name");
  expect(R"({"weight_map": {"a": "../x.safetensors"}})",
         "\"weight_map\" entry \"a\" is not the file name");
  expect(R"({"weight_map": {"a": ""}})", "\"weight_map\" entry \"a\" is not the file name");
  expect(R"({"weight_map": {"a": "x", "a": "x"}})", "duplicate key \"a\" in \"weight_map\"");
}

TEST(SafetensorsCheckpointTest, BrokenShard) {
  TempDir dir;
  WriteSharded(dir, GoodIndex());
  dir.Write(kShard1, Shard1().substr(0, 100));
  ExpectOpenError(dir, absl::StatusCode::kDataLoss,
                  {"shard \"" + std::string(kShard1) + "\": " + dir.path() + "/" + kShard1 +
                   ": header length"});
}

}  // namespace
}  // namespace llmw
