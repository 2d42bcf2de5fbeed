// A host copy of a block-format weight in the CUDA kernels' row layout (repacked_layout.h), for
// tests that run the kernels' decoding on the host.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cuda/repacked_layout.h"
#include "kernels/dtype.h"
#include "kernels/tensor.h"

namespace llmw::testing_util {

struct RepackedCopy {
  explicit RepackedCopy(const Tensor& w) : bytes(static_cast<size_t>(w.bytes())) {
    const int64_t nb = w.row_elems() / Traits(w.dtype()).block_elems;
    for (int64_t r = 0; r < w.rows(); ++r) {
      cuda_blocks::RepackRow(w.dtype(), nb, w.row(r), bytes.data() + r * w.row_bytes());
    }
    tensor = w.WithData(bytes.data(), Device::kCpu);
  }
  RepackedCopy(const RepackedCopy&) = delete;
  RepackedCopy& operator=(const RepackedCopy&) = delete;

  std::vector<uint8_t> bytes;
  Tensor tensor;  // w's dtype and shape over `bytes`
};

}  // namespace llmw::testing_util
