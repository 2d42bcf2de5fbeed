// SafetensorsCheckpoint: the weights of a Hugging Face model directory, either
// one `model.safetensors` or `model.safetensors.index.json` plus the shards its
// weight map names (in the same directory). Every file is mapped once and stays
// mapped while the checkpoint lives, so tensors from Get() stay valid as long
// as the caller holds the shared_ptr.
//
//   ASSIGN_OR_RETURN(std::shared_ptr<SafetensorsCheckpoint> ckpt,
//                    SafetensorsCheckpoint::Open("/models/SmolLM2-135M"));
//   ASSIGN_OR_RETURN(Tensor w, ckpt->Get("model.layers.0.self_attn.q_proj.weight"));
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/tensor.h"
#include "models/formats/safetensors_file.h"

namespace llmw {

class SafetensorsCheckpoint {
 public:
  static constexpr std::string_view kSingleFile = "model.safetensors";
  static constexpr std::string_view kIndexFile = "model.safetensors.index.json";

  // Opens `directory`'s single file when present, else its index and shards.
  // NOT_FOUND when the directory, both of those files, or a listed shard is
  // missing; INVALID_ARGUMENT (DATA_LOSS for truncation) when a file is broken,
  // a tensor sits in two shards, or a shard lacks a tensor the index puts there.
  static absl::StatusOr<std::shared_ptr<SafetensorsCheckpoint>> Open(const std::string& directory);

  SafetensorsCheckpoint(const SafetensorsCheckpoint&) = delete;
  SafetensorsCheckpoint& operator=(const SafetensorsCheckpoint&) = delete;

  const std::string& directory() const { return directory_; }
  bool Has(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }
  // nullptr when absent: dtype and shape without making a view.
  const SafetensorsTensor* Find(std::string_view name) const;
  // NOT_FOUND naming the tensor and the directory; UNIMPLEMENTED for dtypes
  // and ranks a Tensor cannot hold (see SafetensorsFile::TensorView).
  absl::StatusOr<Tensor> Get(std::string_view name) const;
  // Every tensor of every file, sorted.
  std::vector<std::string_view> tensor_names() const;
  // The single file, or the shards sorted by file name.
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }

 private:
  struct Entry {
    const SafetensorsFile* file;
    const SafetensorsTensor* tensor;
  };

  explicit SafetensorsCheckpoint(std::string directory) : directory_(std::move(directory)) {}
  // Indexes `file`'s tensors; INVALID_ARGUMENT when one is already indexed.
  absl::Status AddFile(std::shared_ptr<SafetensorsFile> file);
  absl::Status OpenSharded(const std::string& index_path);

  std::string directory_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, Entry, std::less<>> tensors_;  // points into files_
};

}  // namespace llmw
