// Buffer ownership and the Backend's failure record.
#include "kernels/backend.h"

#include <utility>

namespace llmw {

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    Reset();
    owner_ = std::exchange(other.owner_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void Buffer::Reset() {
  if (owner_ != nullptr && data_ != nullptr) owner_->Free(data_);
  owner_ = nullptr;
  data_ = nullptr;
  bytes_ = 0;
}

void Backend::Fail(absl::Status status) {
  if (failure_.ok()) failure_ = std::move(status);
}

bool Backend::Record(const absl::Status& status) {
  if (!status.ok()) Fail(status);
  return status.ok();
}

absl::Status Backend::TakeFailure() { return std::exchange(failure_, absl::OkStatus()); }

}  // namespace llmw
