// CPU feature probes over the compiler's cpuid builtins.
#include "kernels/cpu/cpu_features.h"

namespace llmw::cpu {

#if defined(__x86_64__)
bool HasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
}

bool HasAvxVnni() { return HasAvx2() && __builtin_cpu_supports("avxvnni"); }

bool HasAvx512Vnni() {
  return HasAvx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}
#else
bool HasAvx2() { return false; }
bool HasAvxVnni() { return false; }
bool HasAvx512Vnni() { return false; }
#endif

}  // namespace llmw::cpu
