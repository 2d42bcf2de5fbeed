// The cuBLAS entry points this project calls, defined here and forwarded to libcublas, which is
// opened on first use (dlopen) rather than linked.
//
// Why: cuBLASLt, which cuBLAS loads, carries about 94 KiB of thread-local storage. A library
// linked into the executable puts its thread-local storage into every thread's stack, and threads
// created with small fixed stacks then fail to start (civetweb's, under the metrics endpoint, use
// 100 KiB). Opened on first use, the libraries' thread-local storage is allocated per thread on
// demand instead, and a process that never creates a CUDA backend never loads them at all.
//
// Every function answers CUBLAS_STATUS_NOT_INITIALIZED when the library cannot be opened, the way
// cuBLAS reports a missing driver; cublasGetStatusName/String fall back to fixed texts.
#include <cublas_v2.h>
#include <dlfcn.h>

#include <string>

namespace llmw::cuda {
namespace {

// The opened library, or null. Opened once, on the first call from any thread.
void* Library() {
  static void* const library = [] {
    const std::string name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
    return dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  }();
  return library;
}

// The library's `name` as a `Fn`, or null.
template <typename Fn>
Fn Symbol(const char* name) {
  void* library = Library();
  return library == nullptr ? nullptr : reinterpret_cast<Fn>(dlsym(library, name));
}

}  // namespace
}  // namespace llmw::cuda

// Each entry point looks its symbol (of the function type `Fn`) up once and forwards.
#define LLMW_CUBLAS_FORWARD(name, ...)                  \
  static const Fn fn = ::llmw::cuda::Symbol<Fn>(#name); \
  return fn == nullptr ? CUBLAS_STATUS_NOT_INITIALIZED : fn(__VA_ARGS__)

extern "C" {

cublasStatus_t CUBLASWINAPI cublasCreate_v2(cublasHandle_t* handle) {
  using Fn = cublasStatus_t (*)(cublasHandle_t*);
  LLMW_CUBLAS_FORWARD(cublasCreate_v2, handle);
}

cublasStatus_t CUBLASWINAPI cublasDestroy_v2(cublasHandle_t handle) {
  using Fn = cublasStatus_t (*)(cublasHandle_t);
  LLMW_CUBLAS_FORWARD(cublasDestroy_v2, handle);
}

cublasStatus_t CUBLASWINAPI cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  using Fn = cublasStatus_t (*)(cublasHandle_t, cudaStream_t);
  LLMW_CUBLAS_FORWARD(cublasSetStream_v2, handle, stream);
}

cublasStatus_t CUBLASWINAPI cublasGetStream_v2(cublasHandle_t handle, cudaStream_t* stream) {
  using Fn = cublasStatus_t (*)(cublasHandle_t, cudaStream_t*);
  LLMW_CUBLAS_FORWARD(cublasGetStream_v2, handle, stream);
}

cublasStatus_t CUBLASWINAPI cublasSetWorkspace_v2(cublasHandle_t handle, void* workspace,
                                                  size_t bytes) {
  using Fn = cublasStatus_t (*)(cublasHandle_t, void*, size_t);
  LLMW_CUBLAS_FORWARD(cublasSetWorkspace_v2, handle, workspace, bytes);
}

cublasStatus_t CUBLASWINAPI cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  using Fn = cublasStatus_t (*)(cublasHandle_t, cublasMath_t);
  LLMW_CUBLAS_FORWARD(cublasSetMathMode, handle, mode);
}

cublasStatus_t CUBLASWINAPI cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const void* alpha, const void* a, cudaDataType a_type,
                                         int lda, const void* b, cudaDataType b_type, int ldb,
                                         const void* beta, void* c, cudaDataType c_type, int ldc,
                                         cublasComputeType_t compute, cublasGemmAlgo_t algo) {
  using Fn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                const void*, const void*, cudaDataType, int, const void*,
                                cudaDataType, int, const void*, void*, cudaDataType, int,
                                cublasComputeType_t, cublasGemmAlgo_t);
  LLMW_CUBLAS_FORWARD(cublasGemmEx, handle, transa, transb, m, n, k, alpha, a, a_type, lda, b,
                      b_type, ldb, beta, c, c_type, ldc, compute, algo);
}

cublasStatus_t CUBLASWINAPI cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                                           cublasOperation_t transb, int m, int n, int k,
                                           const float* alpha, const float* a, int lda,
                                           const float* b, int ldb, const float* beta, float* c,
                                           int ldc) {
  using Fn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                const float*, const float*, int, const float*, int, const float*,
                                float*, int);
  LLMW_CUBLAS_FORWARD(cublasSgemm_v2, handle, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta,
                      c, ldc);
}

const char* CUBLASWINAPI cublasGetStatusName(cublasStatus_t status) {
  using Fn = const char* (*)(cublasStatus_t);
  static const Fn fn = ::llmw::cuda::Symbol<Fn>("cublasGetStatusName");
  return fn == nullptr ? "CUBLAS_STATUS_UNKNOWN" : fn(status);
}

const char* CUBLASWINAPI cublasGetStatusString(cublasStatus_t status) {
  using Fn = const char* (*)(cublasStatus_t);
  static const Fn fn = ::llmw::cuda::Symbol<Fn>("cublasGetStatusString");
  return fn == nullptr ? "libcublas could not be opened" : fn(status);
}

}  // extern "C"
