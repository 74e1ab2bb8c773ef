// Swish activation kernels: y = x * sigmoid(beta * x).
//
// This header is pure CUDA runtime API on purpose: it is shared by the
// TensorRT plugin, the ctypes C ABI and the standalone kernel check, so it
// must never include a TensorRT header (CI builds it without TensorRT).
#pragma once

#include <cstdint>
#include <cuda_runtime_api.h>

namespace tpb
{

//! Element type of the input and output tensors (both always have the same type).
enum class SwishDataType : int32_t
{
    kFLOAT = 0,
    kHALF = 1,
    kBF16 = 2,
};

//! Kernel implementation. kNAIVE must stay 0: it is the baseline every benchmark compares against.
enum class SwishKernel : int32_t
{
    kNAIVE = 0,
    kVECTORIZED = 1,
    kVECTORIZED_STREAMING = 2,
    kVECTORIZED_ONESHOT = 3,     //!< one-shot grid, 2 16-byte vectors per thread
    kVECTORIZED_ONESHOT_X1 = 4,  //!< one-shot grid, 1 vector per thread (most blocks, least work each)
    kVECTORIZED_ONESHOT_X4 = 5,  //!< one-shot grid, 4 vectors per thread (most bytes in flight per warp)
    kVECTORIZED_ONESHOT_X1_B128 = 6, //!< as X1 in 128-thread blocks
    kVECTORIZED_ONESHOT_X2_B128 = 7, //!< as ONESHOT in 128-thread blocks (TensorRT's fp32 pointwise shape)
    kVECTORIZED_ONESHOT_X1_EF = 8,   //!< as X1, loads evict-first in L2 (input read once: its lines go first)
    kVECTORIZED_ONESHOT_X1_CS = 9,   //!< as X1, loads and stores evict-first (ld/st .cs)
    kVECTORIZED_ONESHOT_X1_B128_EF = 10, //!< as X1_B128 with evict-first loads
    kVECTORIZED_ONESHOT_X1_L2EF = 12,      //!< as X1, loads with an L2 evict-first cache-policy descriptor
    kVECTORIZED_ONESHOT_X1_B128_L2EF = 13, //!< as X1_B128 with those loads
    kVECTORIZED_ONESHOT_X1_B1024 = 14,     //!< as X1 in 1024-thread blocks (the fastest copy's shape)
};

//! One past the highest id. Ids 11 and 15 are retired (2026-12-02): they switched kernels inside at
//! sizes measured on one GPU (a 4 MiB constant, 2048 resident threads per SM). The plugin's choice
//! table (the "kernel_table" field, filled by the pipeline's tune rule on the GPU at hand) bands sizes
//! now; isValidSwishKernel refuses the two ids, and their numbers are never reused.
constexpr int32_t kSwishKernelCount = 16;
constexpr int32_t kSwishRetiredSized = 11;
constexpr int32_t kSwishRetiredWaves = 15;

//! Stable lowercase name ("naive", "vectorized", ...); "unknown" when out of range.
char const* swishKernelName(SwishKernel kernel) noexcept;

//! True when the value is one of the enumerators above (guards casts from int).
bool isValidSwishKernel(int32_t kernel) noexcept;
bool isValidSwishDataType(int32_t dtype) noexcept;

//! Enqueue y[i] = x[i] * sigmoid(beta * x[i]) for i in [0, count) on \p stream.
//!
//! count == 0 launches nothing and returns cudaSuccess. A negative count, a null pointer with
//! count > 0, or an unknown dtype/kernel return cudaErrorInvalidValue. Otherwise the result of
//! cudaPeekAtLastError() after the launch is returned: the launch's own error, or an error an
//! earlier call left pending in this thread. The pending error is never cleared (only the caller's
//! cudaGetLastError() does that), so an unrelated earlier failure stays visible to its owner.
//! Input and output may alias exactly (in place) but must not partially overlap. Never allocates
//! and keeps no state, so concurrent calls from several threads/streams are safe.
cudaError_t launchSwish(void const* input, void* output, int64_t count, float beta, SwishDataType dtype,
    SwishKernel kernel, cudaStream_t stream) noexcept;

//! Launch an empty <<<1, 1>>> kernel: the floor for launch overhead measurements. Returns
//! cudaPeekAtLastError() after the launch, as launchSwish.
cudaError_t launchEmptyKernel(cudaStream_t stream) noexcept;

} // namespace tpb
