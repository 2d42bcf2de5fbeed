#!/usr/bin/env bash
# scripts/reference-cpu-flags.sh turns on exactly the instruction sets a CPU reports: a Zen 4
# (AVX-512 VNNI, no AVX-VNNI) gets no AVX-VNNI, an AVX2-only CPU no AVX-512, AMX stays off.
# Usage: reference_cpu_flags_test.sh SOURCE_DIR
set -uo pipefail
flags_of() { "$1/scripts/reference-cpu-flags.sh" "$2" | tr '\n' ' '; }
failures=0
expect() {  # expect NAME FLAGS WANTED...
  local name="$1" got="$2"
  shift 2
  for want in "$@"; do
    [[ " $got " == *" $want "* ]] || { echo "FAIL: $name: no $want in: $got"; failures=$((failures + 1)); }
  done
}
zen4="fpu sse2 avx f16c fma bmi2 avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni avx512_bf16 avx512vbmi"
expect "Zen 4" "$(flags_of "$1" "$zen4")" -DGGML_NATIVE=OFF -DGGML_AVX512=ON \
  -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX_VNNI=OFF \
  -DGGML_AMX_INT8=OFF
haswell="fpu sse2 avx f16c fma bmi2 avx2"
expect "AVX2 only" "$(flags_of "$1" "$haswell")" -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_AVX512=OFF \
  -DGGML_AVX512_VNNI=OFF -DGGML_AVX_VNNI=OFF
sapphire="$zen4 avx_vnni amx_tile amx_int8 amx_bf16"
expect "AMX reported" "$(flags_of "$1" "$sapphire")" -DGGML_AVX_VNNI=ON -DGGML_AMX_TILE=OFF \
  -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
((failures == 0)) && echo "reference CPU flags: all checks passed"
exit $((failures > 0))
