// CudaGraph: stream capture, instantiation and launch.
#include "kernels/cuda/graph.h"

#include <memory>
#include <type_traits>

#include "kernels/cuda/cuda_check.h"

namespace llmw::cuda {
namespace {

// The captured graph is needed only until it is instantiated.
struct GraphDeleter {
  void operator()(cudaGraph_t graph) const { cudaGraphDestroy(graph); }
};
using OwnedGraph = std::unique_ptr<std::remove_pointer_t<cudaGraph_t>, GraphDeleter>;

}  // namespace

absl::Status CudaGraph::BeginCapture(cudaStream_t stream) {
  const cudaError_t begun = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal);
  if (begun != cudaSuccess) cudaGetLastError();  // as in EndCapture
  LLMW_CUDA_RETURN_IF_ERROR(begun);
  return absl::OkStatus();
}

absl::StatusOr<CudaGraph> CudaGraph::EndCapture(cudaStream_t stream) {
  cudaGraph_t raw = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &raw);
  OwnedGraph graph(raw);
  cudaGraphExec_t exec = nullptr;
  const cudaError_t instantiated = ended == cudaSuccess && graph != nullptr
                                       ? cudaGraphInstantiate(&exec, graph.get(), 0)
                                       : ended;
  if (ended != cudaSuccess || instantiated != cudaSuccess) {
    // The kernels' launchers read the thread's last error after each launch; a failed capture
    // must not be reported again by the next kernel, which has nothing to do with it.
    cudaGetLastError();
  }
  LLMW_CUDA_RETURN_IF_ERROR(ended);
  if (graph == nullptr) return absl::InternalError("cudaStreamEndCapture returned no graph");
  LLMW_CUDA_RETURN_IF_ERROR(instantiated);
  return CudaGraph(exec);
}

CudaGraph& CudaGraph::operator=(CudaGraph&& other) noexcept {
  if (this != &other) {
    Reset();
    exec_ = other.exec_;
    other.exec_ = nullptr;
  }
  return *this;
}

CudaGraph::~CudaGraph() { Reset(); }

void CudaGraph::Reset() {
  // A destructor cannot report; a failure here means the context is already broken.
  if (exec_ != nullptr) cudaGraphExecDestroy(exec_);
  exec_ = nullptr;
}

absl::Status CudaGraph::Launch(cudaStream_t stream) const {
  if (exec_ == nullptr) return absl::FailedPreconditionError("launch of an empty CUDA graph");
  LLMW_CUDA_RETURN_IF_ERROR(cudaGraphLaunch(exec_, stream));
  return absl::OkStatus();
}

}  // namespace llmw::cuda
