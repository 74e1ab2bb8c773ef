#!/usr/bin/env bash
# Compile-check the TensorRT-facing sources of the Swish plugin against one TensorRT include dir.
#
# Usage: plugin/scripts/check_headers.sh [--deprecations] <tensorrt-include-dir> [out-dir]
#
#   Each source is compiled with g++ -std=c++17 -fsyntax-only -Wall -Wextra -Werror
#   -Wno-deprecated-declarations; PASS/FAIL is printed per file and the exit status is non-zero on
#   any failure. The TensorRT and CUDA include dirs are passed with -isystem so that warnings inside
#   their headers (e.g. unused parameters in inline defaults) are not attributed to our code;
#   warnings in our own files are still errors.
#   --deprecations  additionally compiles every file once more without -Wno-deprecated-declarations
#                   and reports how many 'deprecated' warnings each produces (informational only).
#   out-dir         if given, per-file compiler logs and a summary.txt are written there.
#
# Environment: CXX (default g++), CUDA_INCLUDE_DIR (default: /usr/local/cuda/include, else
# derived from the nvcc on PATH).
set -u -o pipefail

show_deprecations=0
positional=()
for arg in "$@"; do
    case "$arg" in
        --deprecations) show_deprecations=1 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) positional+=("$arg") ;;
    esac
done
if [[ ${#positional[@]} -lt 1 || ${#positional[@]} -gt 2 ]]; then
    echo "usage: $0 [--deprecations] <tensorrt-include-dir> [out-dir]" >&2
    exit 2
fi
trt_include=${positional[0]}
out_dir=${positional[1]:-}

if [[ ! -f "$trt_include/NvInferVersion.h" ]]; then
    echo "error: $trt_include/NvInferVersion.h not found" >&2
    exit 2
fi

plugin_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cxx=${CXX:-g++}

cuda_include=${CUDA_INCLUDE_DIR:-}
if [[ -z "$cuda_include" ]]; then
    if [[ -f /usr/local/cuda/include/cuda_runtime_api.h ]]; then
        cuda_include=/usr/local/cuda/include
    elif command -v nvcc >/dev/null 2>&1; then
        nvcc_dir=$(dirname "$(readlink -f "$(command -v nvcc)")")
        cuda_include=$(cd "$nvcc_dir/../include" 2>/dev/null && pwd || true)
    fi
fi
if [[ -z "$cuda_include" || ! -f "$cuda_include/cuda_runtime_api.h" ]]; then
    echo "error: CUDA headers not found; set CUDA_INCLUDE_DIR" >&2
    exit 2
fi

if [[ -n "$out_dir" ]]; then
    mkdir -p "$out_dir"
fi
log_dir=${out_dir:-$(mktemp -d)}

include_flags=(-isystem "$trt_include" -isystem "$cuda_include"
    -I"$plugin_dir" -I"$plugin_dir/common" -I"$plugin_dir/swishPlugin")
base_flags=(-std=c++17 -fsyntax-only -Wall -Wextra)

# Version probe: let the preprocessor expand the macros (10.x+ define them indirectly).
probe=$(printf '#include "NvInferVersion.h"\nTPB_VERSION NV_TENSORRT_MAJOR NV_TENSORRT_MINOR NV_TENSORRT_PATCH\n' \
    | "$cxx" -E -P -x c++ "${include_flags[@]}" - 2>/dev/null | grep '^TPB_VERSION' || true)
read -r _ trt_major trt_minor trt_patch <<<"$probe"
if [[ -z "${trt_major:-}" ]]; then
    echo "error: could not read NV_TENSORRT_MAJOR from $trt_include/NvInferVersion.h" >&2
    exit 2
fi
if (( trt_major >= 10 )); then
    v3_state="compiled in (NV_TENSORRT_MAJOR >= 10)"
else
    v3_state="compiled out (NV_TENSORRT_MAJOR < 10)"
fi

sources=(
    swishPlugin/swishPluginLegacy.cpp
    swishPlugin/swishPlugin.cpp
    swishPlugin/swishPluginParams.cpp
    api/swishPluginLibrary.cpp
    common/pluginLog.cpp
    common/pluginRecord.cpp
    common/creatorNamespace.cpp
    common/creatorRegistration.cpp
    swishPlugin/swishRecord.cpp
    tests/swishCreatorCheck.cpp
)

summary=()
summary+=("TensorRT headers: $trt_include")
summary+=("TensorRT version: $trt_major.$trt_minor.$trt_patch")
summary+=("IPluginV3 path:   $v3_state")
summary+=("CUDA headers:     $cuda_include")
failures=0
for src in "${sources[@]}"; do
    log="$log_dir/$(basename "$src").log"
    if "$cxx" "${base_flags[@]}" -Werror -Wno-deprecated-declarations "${include_flags[@]}" \
        "$plugin_dir/$src" >"$log" 2>&1; then
        status=PASS
    else
        status=FAIL
        failures=$((failures + 1))
    fi
    line=$(printf '%-4s %s' "$status" "$src")
    if (( show_deprecations )); then
        dep_log="$log_dir/$(basename "$src").deprecations.log"
        "$cxx" "${base_flags[@]}" "${include_flags[@]}" "$plugin_dir/$src" >"$dep_log" 2>&1 || true
        count=$(grep -c 'warning: .*deprecated' "$dep_log" || true)
        line=$(printf '%-48s deprecation warnings: %s' "$line" "$count")
    fi
    summary+=("$line")
    if [[ $status == FAIL ]]; then
        sed 's/^/    /' "$log" | head -n 40
    fi
done
if (( failures == 0 )); then
    summary+=("RESULT: PASS (${#sources[@]} files)")
else
    summary+=("RESULT: FAIL ($failures of ${#sources[@]} files)")
fi

printf '%s\n' "${summary[@]}"
if [[ -n "$out_dir" ]]; then
    printf '%s\n' "${summary[@]}" >"$out_dir/summary.txt"
else
    rm -rf "$log_dir"
fi
(( failures == 0 ))
