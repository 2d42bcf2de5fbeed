// CPU feature probes over cpuid and xgetbv (the compilers' __builtin_cpu_supports
// does not know every feature name in every version: clang 14 lacks "f16c"
// and "avxvnni"). A feature counts only when the OS also saves its registers.
#include "kernels/cpu/cpu_features.h"

#if defined(__x86_64__)
#include <cpuid.h>

#include <cstdint>
#endif

namespace llmw::cpu {

#if defined(__x86_64__)
namespace {

struct X86Features {
  bool avx2 = false, fma = false, f16c = false, avx_vnni = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512_vnni = false;
};

bool Bit(uint32_t reg, int bit) { return (reg >> bit) & 1u; }

X86Features Probe() {
  X86Features f;
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !Bit(ecx, 27) /* OSXSAVE */) return f;
  const bool fma = Bit(ecx, 12), avx = Bit(ecx, 28), f16c = Bit(ecx, 29);
  uint32_t xcr0_lo = 0, xcr0_hi = 0;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool os_avx = (xcr0_lo & 0x6) == 0x6;       // XMM and YMM state
  const bool os_avx512 = (xcr0_lo & 0xE6) == 0xE6;  // plus opmask and ZMM state
  if (!avx || !os_avx || !__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
  f.avx2 = Bit(ebx, 5);
  f.fma = fma;
  f.f16c = f16c;
  f.avx512f = os_avx512 && Bit(ebx, 16);
  f.avx512bw = os_avx512 && Bit(ebx, 30);
  f.avx512vl = os_avx512 && Bit(ebx, 31);
  f.avx512_vnni = os_avx512 && Bit(ecx, 11);
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) f.avx_vnni = Bit(eax, 4);
  return f;
}

const X86Features& Features() {
  static const X86Features features = Probe();
  return features;
}

}  // namespace

bool HasAvx2() { return Features().avx2 && Features().fma && Features().f16c; }

bool HasAvxVnni() { return HasAvx2() && Features().avx_vnni; }

bool HasAvx512Vnni() {
  const X86Features& f = Features();
  return HasAvx2() && f.avx512f && f.avx512bw && f.avx512vl && f.avx512_vnni;
}
#else
bool HasAvx2() { return false; }
bool HasAvxVnni() { return false; }
bool HasAvx512Vnni() { return false; }
#endif

}  // namespace llmw::cpu
