// What the CPU this process runs on can execute, for the kernels that pick a
// SIMD variant at run time. All false off x86-64.
#pragma once

namespace llmw::cpu {

// AVX2 with FMA and F16C.
bool HasAvx2();
// AVX2 plus the 256-bit VNNI dot products (AVX-VNNI).
bool HasAvxVnni();
// AVX2 plus AVX-512 F, BW, VL and VNNI.
bool HasAvx512Vnni();

}  // namespace llmw::cpu
