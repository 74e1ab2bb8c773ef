// Fused residual add + RMSNorm over the last dimension, the block input of every LLM layer:
//   h = x + r;  y = h / sqrt(mean(h^2) + eps) * gamma
// outputs y and h (the residual stream the next block adds to), gamma of `hidden` elements. fp32
// accumulation for every I/O type; y is computed from h in fp32 (before h is rounded to the I/O type).
//
// Pure CUDA runtime API: shared by the TensorRT plugins, the C API (residualRmsNormKernelCApi.cu) and
// the kernel check (plugin/tests/residualRmsNormKernelCheck.cu); never includes a TensorRT header.
#pragma once

#include "rowNormTypes.h"

#include <cstdint>
#include <cuda_runtime_api.h>

namespace tpb
{

//! The kernel variants, from the one table (residualRmsNormKernels.def).
enum class ResidualRmsNormKernel : int32_t
{
#define TPB_RESIDUAL_RMS_NORM_KERNEL(id, enumerator, name, shape) enumerator = id,
#include "residualRmsNormKernels.def"
#undef TPB_RESIDUAL_RMS_NORM_KERNEL
};

//! One past the highest id.
constexpr int32_t kResidualRmsNormKernelCount = 0
#define TPB_RESIDUAL_RMS_NORM_KERNEL(id, enumerator, name, shape) +1
#include "residualRmsNormKernels.def"
#undef TPB_RESIDUAL_RMS_NORM_KERNEL
    ;

//! The kernel field's default: two_rows, the row-norm probe's winner (plugin/probes/run_row_norm_probe.sh, H200,
//! 2026-12-06: 94.6-97.8 % of the copy ceiling at 256 MiB for both operators, fp32 and fp16, hidden
//! 1024/4096/8192, where registers, the default before, fell to 69.6 % for LayerNorm fp16; docs/kernel-notes.md).
//! The ops' plugin specs' variants.default names the same kernel (tests/test_norm_ops.py holds them together).
constexpr int32_t kResidualRmsNormDefaultKernelId = static_cast<int32_t>(ResidualRmsNormKernel::kTWO_ROWS);

//! Stable lowercase name ("naive", "registers", ...); nullptr when not a valid id.
char const* residualRmsNormKernelName(int32_t kernel) noexcept;

bool isValidResidualRmsNormKernel(int32_t kernel) noexcept;

//! Enqueue h = x + r and y = h * rsqrt(mean(h^2) + eps) * gamma for \p rows rows of \p hidden elements
//! (x, r, y, h row-major, rows x hidden; gamma \p hidden elements) on \p stream.
//!
//! rows == 0 or hidden == 0 launches nothing and returns cudaSuccess. A negative count, rows x hidden
//! overflowing int64, a null pointer with work to do, eps not finite or not > 0, or an unknown dtype or
//! kernel return cudaErrorInvalidValue. Otherwise cudaPeekAtLastError() after the launch (an earlier
//! pending error is reported, never cleared). The outputs must not overlap the inputs or each other.
//! Any hidden works; the register shapes need hidden a multiple of 8 (16-bit) or 4 (fp32) and 16-byte
//! aligned pointers, else the generic kernel runs. Keeps no state. Range: |h| below ~1e19 (h^2 finite in fp32).
cudaError_t launchResidualRmsNorm(void const* x, void const* r, void const* gamma, void* y, void* h, int64_t rows,
    int64_t hidden, float eps, RowNormDataType dtype, ResidualRmsNormKernel kernel, cudaStream_t stream) noexcept;

} // namespace tpb
