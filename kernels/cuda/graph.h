// CudaGraph: the work one stream queued between BeginCapture and EndCapture, instantiated once and
// launched again on that stream as one unit (a CUDA graph), which costs one launch instead of one
// per kernel.
#pragma once

#include <cuda_runtime_api.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace llmw::cuda {

class CudaGraph {
 public:
  // Starts recording the work queued on `stream` by this thread. Thread-local mode: another
  // thread's calls (its allocations, its synchronizations) are not this capture's concern, but
  // this thread's own unsafe calls during the capture (cudaMalloc, a synchronization) fail it
  // instead of passing unnoticed as they would in relaxed mode.
  static absl::Status BeginCapture(cudaStream_t stream);
  // Ends the recording on `stream` and instantiates it. The capture is ended whatever happened,
  // so the stream runs work again afterwards.
  static absl::StatusOr<CudaGraph> EndCapture(cudaStream_t stream);

  CudaGraph() = default;
  CudaGraph(CudaGraph&& other) noexcept : exec_(other.exec_) { other.exec_ = nullptr; }
  CudaGraph& operator=(CudaGraph&& other) noexcept;
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;
  ~CudaGraph();

  // Queues the recorded work on `stream`.
  absl::Status Launch(cudaStream_t stream) const;

 private:
  explicit CudaGraph(cudaGraphExec_t exec) : exec_(exec) {}
  void Reset();

  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace llmw::cuda
