#!/usr/bin/env bash
# Checks the Dockerfile's runtime stage against built binaries: the packages it
# installs must be exactly those that provide the libraries the binaries link
# (their DT_NEEDED entries, each resolved by ldd here), apart from what the CUDA
# runtime base image brings. Libraries and packages are compared by name stem
# (libgrpc++.so.1.51 and libgrpc++1.51t64 are both "grpc++"), since the image's
# Ubuntu and this machine may carry other versions of the same libraries.
#   usage: scripts/check-image-libs.sh DOCKERFILE BINARY...
set -euo pipefail

dockerfile="$1"
shift

# Libraries of the base image: the C/C++ runtime and CUDA (the driver's libcuda
# is mounted by the NVIDIA container runtime).
base_image_stems=" c m stdc++ gcc_s pthread dl rt ld-linux-x86-64 cudart cublas cublasLt cuda "

# The package stem a library stem comes from, where the two differ.
package_stem() {
  case "$1" in
    absl_*) echo absl ;;
    gpr | grpc | address_sorting | upb) echo grpc ;;
    grpc++_reflection) echo grpc++ ;;
    *) echo "$1" ;;
  esac
}

needed=()
for binary in "$@"; do
  ldd_out="$(ldd "$binary")"
  if grep -q "not found" <<<"$ldd_out"; then
    echo "check-image-libs: $binary has unresolved libraries:" >&2
    grep "not found" <<<"$ldd_out" >&2
    exit 1
  fi
  while read -r soname; do
    grep -qF "$soname" <<<"$ldd_out" || {
      echo "check-image-libs: ldd does not list $soname of $binary" >&2
      exit 1
    }
    needed+=("$soname")
  done < <(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
done

declare -A linked=()
for soname in $(printf '%s\n' "${needed[@]}" | sort -u); do
  stem="${soname%%.so*}"
  stem="${stem#lib}"
  [[ "$base_image_stems" == *" $stem "* ]] && continue
  linked["$(package_stem "$stem")"]+="$soname "
done

# The apt-get install list of the last stage (the runtime image).
runtime="$(awk '/^FROM /{stage=""} {stage=stage $0 "\n"} END{printf "%s", stage}' "$dockerfile")"
packages="$(sed -n '/apt-get install/,/&&[[:space:]]*\\$/p' <<<"$runtime" | tr ' \\' '\n\n' |
  grep -E '^lib' | sort -u)"
declare -A installed=()
for package in $packages; do
  stem="${package#lib}"
  stem="${stem%t64}"
  stem="$(sed -E 's/[0-9.]+$//' <<<"$stem")"
  installed["$stem"]="$package"
done

status=0
for stem in "${!linked[@]}"; do
  if [[ -z "${installed[$stem]:-}" ]]; then
    echo "check-image-libs: no runtime package for ${linked[$stem]}(stem $stem)" >&2
    status=1
  fi
done
for stem in "${!installed[@]}"; do
  if [[ -z "${linked[$stem]:-}" ]]; then
    echo "check-image-libs: runtime package ${installed[$stem]} provides nothing the binaries link" >&2
    status=1
  fi
done
if ((status == 0)); then
  echo "check-image-libs: the runtime packages match the linked libraries:"
  for stem in $(printf '%s\n' "${!linked[@]}" | sort); do
    echo "  ${installed[$stem]}: ${linked[$stem]}"
  done
fi
exit "$status"
