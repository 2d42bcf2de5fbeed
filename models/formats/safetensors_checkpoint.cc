// SafetensorsCheckpoint: picks the single file or the index, opens every shard
// once, and checks that the index and the shards agree.
#include "models/formats/safetensors_checkpoint.h"

#include <filesystem>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/formats/mapped_file.h"
#include "models/formats/strict_json.h"

namespace llmw {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

bool IsRegularFile(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// Shards must sit next to the index: a bare file name, nothing that leaves the directory.
bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

// tensor name → shard file name, from the index's "weight_map".
absl::StatusOr<std::map<std::string, std::string>> ReadWeightMap(const std::string& index_path) {
  ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(index_path));
  const std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  ASSIGN_OR_RETURN(Json root, ParseStrictJsonObject(text, index_path));
  const auto it = root.find("weight_map");
  if (it == root.end()) {
    return absl::InvalidArgumentError(absl::StrCat(index_path, ": missing \"weight_map\""));
  }
  if (!it->is_object() || it->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(index_path, ": \"weight_map\" is not a non-empty object"));
  }
  std::map<std::string, std::string> out;
  for (const auto& [tensor, shard] : it->get_ref<const Json::object_t&>()) {
    if (!shard.is_string() || !IsPlainFileName(shard.get_ref<const std::string&>())) {
      return absl::InvalidArgumentError(
          absl::StrCat(index_path, ": \"weight_map\" entry \"", tensor,
                       "\" is not the file name of a shard in the same directory"));
    }
    out.emplace(tensor, shard.get<std::string>());
  }
  return out;
}

}  // namespace

absl::StatusOr<std::shared_ptr<SafetensorsCheckpoint>> SafetensorsCheckpoint::Open(
    const std::string& directory) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    return absl::NotFoundError(absl::StrCat(directory, ": no such directory"));
  }
  std::shared_ptr<SafetensorsCheckpoint> ckpt(new SafetensorsCheckpoint(directory));
  const std::string single = (fs::path(directory) / kSingleFile).string();
  const std::string index = (fs::path(directory) / kIndexFile).string();
  if (IsRegularFile(single)) {
    ASSIGN_OR_RETURN(std::shared_ptr<SafetensorsFile> file, SafetensorsFile::Open(single));
    RETURN_IF_ERROR(ckpt->AddFile(std::move(file)));
  } else if (IsRegularFile(index)) {
    RETURN_IF_ERROR(ckpt->OpenSharded(index));
  } else {
    return absl::NotFoundError(absl::StrCat(directory, ": neither ", std::string(kSingleFile),
                                            " nor ", std::string(kIndexFile), " is there"));
  }
  return ckpt;
}

absl::Status SafetensorsCheckpoint::OpenSharded(const std::string& index_path) {
  ASSIGN_OR_RETURN(const auto weight_map, ReadWeightMap(index_path));
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : weight_map) shards.insert(shard);
  for (const std::string& shard : shards) {
    absl::StatusOr<std::shared_ptr<SafetensorsFile>> file =
        SafetensorsFile::Open((fs::path(directory_) / shard).string());
    if (!file.ok()) {
      return absl::Status(file.status().code(), absl::StrCat(index_path, ": shard \"", shard,
                                                             "\": ", file.status().message()));
    }
    RETURN_IF_ERROR(AddFile(*std::move(file)));
  }
  for (const auto& [tensor, shard] : weight_map) {
    const auto it = tensors_.find(tensor);
    if (it == tensors_.end() || fs::path(it->second.file->path()).filename() != shard) {
      return absl::InvalidArgumentError(absl::StrCat(index_path, ": tensor \"", tensor,
                                                     "\" is mapped to shard \"", shard,
                                                     "\", which lacks it"));
    }
  }
  return absl::OkStatus();
}

absl::Status SafetensorsCheckpoint::AddFile(std::shared_ptr<SafetensorsFile> file) {
  for (const SafetensorsTensor& t : file->tensors()) {
    const auto [it, added] = tensors_.emplace(t.name, Entry{file.get(), &t});
    if (!added) {
      return absl::InvalidArgumentError(absl::StrCat(directory_, ": tensor \"", t.name,
                                                     "\" is in both ", it->second.file->path(),
                                                     " and ", file->path()));
    }
  }
  files_.push_back(std::move(file));
  return absl::OkStatus();
}

const SafetensorsTensor* SafetensorsCheckpoint::Find(std::string_view name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second.tensor;
}

absl::StatusOr<Tensor> SafetensorsCheckpoint::Get(std::string_view name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return absl::NotFoundError(
        absl::StrCat("tensor \"", std::string(name), "\" is not in the checkpoint ", directory_));
  }
  return it->second.file->TensorView(*it->second.tensor);
}

std::vector<std::string_view> SafetensorsCheckpoint::tensor_names() const {
  std::vector<std::string_view> out;
  out.reserve(tensors_.size());
  for (const auto& kv : tensors_) out.push_back(kv.first);
  return out;
}

}  // namespace llmw
