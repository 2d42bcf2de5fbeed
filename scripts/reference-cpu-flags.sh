#!/usr/bin/env bash
# Prints the CMake flags that build llama.cpp's CPU backend for the instruction
# sets a CPU reports, one per line. Reads the CPU's flags from the first
# argument (a /proc/cpuinfo "flags" line) or from /proc/cpuinfo.
#
# Every x86 instruction set is turned on only when the CPU reports it: one it
# lacks (AVX-VNNI on a Zen 4, which has AVX-512 VNNI only) dies with SIGILL at
# the first evaluation. AMX stays off: on machines whose CPU reports AMX but
# whose kernel or hypervisor does not grant it, llama.cpp's AMX matmul crashes.
set -euo pipefail

if [[ $# -ge 1 ]]; then
  cpu_flags=" $1 "
else
  cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
fi

if [[ "$(uname -m)" != x86_64 ]]; then
  echo "-DGGML_NATIVE=ON"  # not x86: the compiler knows the CPU
  exit 0
fi

echo "-DGGML_NATIVE=OFF"
# cpuinfo flag → ggml option
for pair in avx:AVX avx2:AVX2 bmi2:BMI2 fma:FMA f16c:F16C avx512f:AVX512 \
  avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16 avx_vnni:AVX_VNNI; do
  flag="${pair%%:*}"
  if [[ "$cpu_flags" == *" $flag "* ]]; then
    echo "-DGGML_${pair#*:}=ON"
  else
    echo "-DGGML_${pair#*:}=OFF"
  fi
done
echo "-DGGML_AMX_TILE=OFF"
echo "-DGGML_AMX_INT8=OFF"
echo "-DGGML_AMX_BF16=OFF"
