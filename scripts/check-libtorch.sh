#!/usr/bin/env bash
# Compiles every C++ translation unit of the addon, the core and the test programs with -fsyntax-only against
# libtorch 2.x (Debian 13's libtorch-dev headers, fetched once into a cache, never installed) and against the
# installed libtorch 1.13, with the real build's flags (C++ standard, -fopenmp, TORCH_CXX_FLAGS, torch's compile
# definitions). Prints one line per (TU, pass) that fails, with its first errors, and exits non-zero on any failure.
#
# Passes: 1.13 (c++17), 2.6 (c++17), 2.6 (c++20, the standard CMake picks for torch >= 2.13), and 2.6 with
# MDISTILL_WITH_CUDA for the TUs that have a CUDA branch (needs nvcc's cuda_runtime.h; skipped without it).
#
#   scripts/check-libtorch.sh [--fetch-only] [--pass NAME]...
# Env: MDISTILL_LIBTORCH2_CACHE (default: <repo>/.cache/libtorch-2.6), MDISTILL_CHECK_JOBS (default: nproc),
#      MDISTILL_TRIXIE_MIRROR (default: http://deb.debian.org/debian).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${MDISTILL_LIBTORCH2_CACHE:-$root/.cache/libtorch-2.6}"
jobs="${MDISTILL_CHECK_JOBS:-$(nproc)}"
mirror="${MDISTILL_TRIXIE_MIRROR:-http://deb.debian.org/debian}"
cxx="${CXX:-g++}"

fetch_only=0
passes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fetch-only) fetch_only=1 ;;
    --pass) passes+=("$2"); shift ;;
    *) echo "check-libtorch: unknown option '$1' (known: --fetch-only, --pass 1.13|2.6|2.6-c++20|2.6-cuda)" >&2; exit 2 ;;
  esac
  shift
done
[ ${#passes[@]} -gt 0 ] || passes=(1.13 2.6 2.6-c++20 2.6-cuda)

# ---- Debian 13's libtorch-dev headers, with an apt configuration of our own (the system's sources, lists and
# package state stay untouched; apt checks the archive's signature and the package's hash as usual).
fetch_libtorch2() {
  local version_h="$cache/usr/include/torch/csrc/api/include/torch/version.h"
  [ -f "$version_h" ] && return 0
  local apt_dir
  apt_dir="$(mktemp -d)"
  trap 'rm -rf "$apt_dir"' RETURN
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/dl"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$apt_dir/sources.list"
  local apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache" -o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1 -o APT::Architecture=amd64)
  echo "check-libtorch: fetching Debian 13's libtorch-dev into $cache" >&2
  if ! apt-get "${apt_opts[@]}" -qq update >"$apt_dir/apt.log" 2>&1; then
    cat "$apt_dir/apt.log" >&2
    echo "check-libtorch: apt-get update of the trixie list failed (is $mirror reachable, and debian-archive-keyring installed?)" >&2
    return 1
  fi
  if ! (cd "$apt_dir/dl" && apt-get "${apt_opts[@]}" -qq download libtorch-dev >"$apt_dir/apt.log" 2>&1); then
    cat "$apt_dir/apt.log" >&2
    echo "check-libtorch: apt-get download libtorch-dev (trixie) failed" >&2
    return 1
  fi
  local deb
  deb="$(ls "$apt_dir"/dl/libtorch-dev_*.deb)"
  rm -rf "$cache.partial"
  mkdir -p "$cache.partial"
  dpkg -x "$deb" "$cache.partial"
  basename "$deb" > "$cache.partial/PACKAGE"
  rm -rf "$cache"
  mv "$cache.partial" "$cache"
}

# The flags torch's CMake package gives its users: TORCH_CXX_FLAGS (the C++ ABI) and torch_cpu's compile definitions.
torch_flags() {
  local cmake_dir="$1"
  sed -n 's/^ *set(TORCH_CXX_FLAGS "\(.*\)")/\1/p' "$cmake_dir/Torch/TorchConfig.cmake" | head -1
  sed -n 's/^ *INTERFACE_COMPILE_DEFINITIONS "\([^$"]*\)"/\1/p' "$cmake_dir/Caffe2/Caffe2Targets.cmake" | head -1 |
    tr ';' '\n' | sed 's/^/-D/'
}

node_includes() {
  local inc
  inc="$(cd "$root" && node -p "require('node-addon-api').include_dir" 2>/dev/null)" || inc=""
  [ -n "$inc" ] && echo "-I$root/$inc" | sed "s#$root/$root#$root#"
  if [ -d "$root/node_modules/node-api-headers/include" ]; then echo "-I$root/node_modules/node-api-headers/include"
  elif [ -d /usr/include/node ]; then echo "-I/usr/include/node"; fi
}

# The translation units: the one source list (C++ only) and the test programs'.
sources() {
  grep -v '^\s*#' "$root/native/sources.txt" | grep -E '\.cc$' | sort -u
  ls "$root"/native/tests/*.cc | sed "s#^$root/##"
}

# TUs with a CUDA branch (#ifdef MDISTILL_WITH_CUDA), checked again with it on.
cuda_sources() {
  grep -l 'MDISTILL_WITH_CUDA' $(sources | sed "s#^#$root/#") | sed "s#^$root/##"
}

[ "$fetch_only" = 1 ] && { fetch_libtorch2; exit $?; }
for p in "${passes[@]}"; do
  case "$p" in 2.6*) fetch_libtorch2; break ;; esac
done

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mapfile -t node_inc < <(node_includes)
common=(-fPIC -fopenmp -Wall -Wno-unused-parameter -I"$root/native" "${node_inc[@]}"
  -DNAPI_VERSION=8 -DNODE_ADDON_API_DISABLE_DEPRECATED -DNAPI_CPP_EXCEPTIONS -DMDISTILL_BUILD_SYSTEM=\"check\"
  -DMDISTILL_TORCH_SOURCE=\"check\")
cuda_inc=""
for d in "${CUDA_HOME:-/usr/local/cuda}/include" /usr/local/cuda/include /usr/include; do
  if [ -f "$d/cuda_runtime_api.h" ]; then cuda_inc="$d"; break; fi
done

fail=0
for p in "${passes[@]}"; do
  case "$p" in
    1.13)
      flags=(-std=gnu++17 -isystem /usr/include/torch/csrc/api/include $(torch_flags /usr/lib/x86_64-linux-gnu/cmake))
      list=$(sources) ;;
    2.6 | 2.6-c++20 | 2.6-cuda)
      inc="$cache/usr/include"
      std=-std=gnu++17
      [ "$p" = 2.6-c++20 ] && std=-std=gnu++20
      # -I puts the 2.6 tree ahead of /usr/include, which holds the installed 1.13 headers.
      flags=("$std" -I"$inc" -I"$inc/torch/csrc/api/include" $(torch_flags "$cache/usr/lib/x86_64-linux-gnu/cmake"))
      list=$(sources)
      if [ "$p" = 2.6-cuda ]; then
        if [ -z "$cuda_inc" ]; then echo "check-libtorch: pass 2.6-cuda skipped: no cuda_runtime_api.h (install nvcc or set CUDA_HOME)"; continue; fi
        # The one header a CUDA build of libtorch generates that Debian's CPU-only package lacks; this is its whole
        # content in a shared-library CUDA build.
        mkdir -p "$out/cuda-overlay/c10/cuda/impl"
        printf '#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n' > "$out/cuda-overlay/c10/cuda/impl/cuda_cmake_macros.h"
        flags+=(-DMDISTILL_WITH_CUDA=1 -I"$cuda_inc" -I"$out/cuda-overlay")
        list=$(cuda_sources)
      fi ;;
    *) echo "check-libtorch: unknown pass '$p'" >&2; exit 2 ;;
  esac
  n=$(echo "$list" | wc -l)
  mkdir -p "$out/$p" "$out/pch-$p"
  # The torch headers are most of each TU's time: precompile native/pch.h once per pass, as the real build does.
  cp "$root/native/pch.h" "$out/pch-$p/pch.h"
  pch=()
  if "$cxx" "${common[@]}" "${flags[@]}" -x c++-header "$out/pch-$p/pch.h" -o "$out/pch-$p/pch.h.gch" >"$out/$p/native%pch.h.log" 2>&1; then
    rm -f "$out/$p/native%pch.h.log"
    pch=(-include "$out/pch-$p/pch.h" -Winvalid-pch)
  fi
  # One compiler per TU, nproc at a time; each writes its diagnostics beside its name.
  echo "$list" | xargs -P "$jobs" -I{} sh -c '
    f="$1"; shift; log="$0/$(echo "$f" | tr / %).log"
    if "$@" "'"$root"'/$f" >"$log" 2>&1; then rm -f "$log"; fi' "$out/$p" {} "$cxx" -fsyntax-only "${common[@]}" "${flags[@]}" "${pch[@]}"
  bad=$(ls "$out/$p" | grep -vc "^native%pch.h.log$" || true)
  echo "check-libtorch: libtorch $p: $((n - bad))/$n translation units compile"
  for log in "$out/$p"/*.log; do
    [ -e "$log" ] || continue
    fail=1
    echo "FAIL [$p] $(basename "$log" .log | tr % /)"
    grep -m 5 'error' "$log" | sed 's/^/    /'
  done
done
exit $fail
