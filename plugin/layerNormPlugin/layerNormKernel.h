// LayerNorm over the last dimension: y = (x - mean) / sqrt(var + eps) * gamma + beta, each row of
// `hidden` elements normalised on its own, gamma and beta of `hidden` elements. fp32 accumulation
// for every I/O type.
//
// Pure CUDA runtime API: shared by the TensorRT plugins, the C API (layerNormKernelCApi.cu) and the
// kernel check (plugin/tests/layerNormKernelCheck.cu); never includes a TensorRT header.
#pragma once

#include "rowNormTypes.h"

#include <cstdint>
#include <cuda_runtime_api.h>

namespace tpb
{

//! The kernel variants, from the one table (layerNormKernels.def).
enum class LayerNormKernel : int32_t
{
#define TPB_LAYER_NORM_KERNEL(id, enumerator, name, shape) enumerator = id,
#include "layerNormKernels.def"
#undef TPB_LAYER_NORM_KERNEL
};

//! One past the highest id.
constexpr int32_t kLayerNormKernelCount = 0
#define TPB_LAYER_NORM_KERNEL(id, enumerator, name, shape) +1
#include "layerNormKernels.def"
#undef TPB_LAYER_NORM_KERNEL
    ;

//! The kernel field's default: two_rows, the row-norm probe's winner (plugin/probes/run_row_norm_probe.sh, H200,
//! 2026-12-06: 94.6-97.8 % of the copy ceiling at 256 MiB for both operators, fp32 and fp16, hidden
//! 1024/4096/8192, where registers, the default before, fell to 69.6 % for LayerNorm fp16; docs/kernel-notes.md).
//! The ops' plugin specs' variants.default names the same kernel (tests/test_norm_ops.py holds them together).
constexpr int32_t kLayerNormDefaultKernelId = static_cast<int32_t>(LayerNormKernel::kTWO_ROWS);

//! Stable lowercase name ("naive", "registers", ...); nullptr when not a valid id.
char const* layerNormKernelName(int32_t kernel) noexcept;

bool isValidLayerNormKernel(int32_t kernel) noexcept;

//! Enqueue the normalisation of \p rows rows of \p hidden elements (x and y row-major, rows x hidden;
//! gamma and beta \p hidden elements each) on \p stream.
//!
//! rows == 0 or hidden == 0 launches nothing and returns cudaSuccess. A negative count, rows x hidden
//! overflowing int64, a null pointer with work to do, eps not finite or not > 0, or an unknown dtype or
//! kernel return cudaErrorInvalidValue. Otherwise cudaPeekAtLastError() after the launch (as
//! launchSwish: an earlier pending error is reported, never cleared). y must not overlap x, gamma or beta. Any hidden works; the register shapes need hidden a multiple of 8
//! (16-bit) or 4 (fp32) and 16-byte aligned pointers, else the generic kernel runs. Keeps no state.
//! Range: |x - mean| below ~1e19 (its square must be a finite fp32).
cudaError_t launchLayerNorm(void const* x, void const* gamma, void const* beta, void* y, int64_t rows, int64_t hidden,
    float eps, RowNormDataType dtype, LayerNormKernel kernel, cudaStream_t stream) noexcept;

} // namespace tpb
