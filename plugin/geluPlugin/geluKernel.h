// GELU kernels: y = x Phi(x), the erf form 0.5 x (1 + erf(x / sqrt 2)) or the tanh form
// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
//
// Pure CUDA runtime API on purpose: shared by the TensorRT plugins, the C ABI of the direct path
// (geluKernelCApi.cu) and the standalone kernel check, so it never includes a TensorRT header (CI builds
// it without TensorRT). The kernel variants come from one table, geluKernels.def.
#pragma once

#include <cstdint>
#include <cuda_runtime_api.h>

namespace tpb
{

//! Element type of the input and output tensors (both always have the same type).
enum class GeluDataType : int32_t
{
    kFLOAT = 0,
    kHALF = 1,
    kBF16 = 2,
};

//! Which GELU: the "approximation" field of the plugins.
enum class GeluApproximation : int32_t
{
    kERF = 0,  //!< 0.5 x (1 + erf(x / sqrt 2)), the exact GELU
    kTANH = 1, //!< 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
};

//! Kernel variant, from geluKernels.def (the id is the line's position). kNAIVE is 0: the contrast
//! every benchmark compares against.
enum class GeluKernel : int32_t
{
#define TPB_GELU_KERNEL(name, label, vectors, block, policy) name,
#include "geluKernels.def"
#undef TPB_GELU_KERNEL
};

//! How many variants geluKernels.def lists (ids 0 .. kGeluKernelCount - 1, all valid).
constexpr int32_t kGeluKernelCount = 0
#define TPB_GELU_KERNEL(name, label, vectors, block, policy) +1
#include "geluKernels.def"
#undef TPB_GELU_KERNEL
    ;

//! Stable lowercase name ("naive", "vectorized_oneshot", ...); nullptr when out of range.
char const* geluKernelName(int32_t kernel) noexcept;

//! True for 0 .. kGeluKernelCount - 1 (guards casts from int).
bool isValidGeluKernel(int32_t kernel) noexcept;
bool isValidGeluDataType(int32_t dtype) noexcept;
bool isValidGeluApproximation(int32_t approximation) noexcept;

//! Enqueue y[i] = gelu(x[i]) for i in [0, count) on \p stream.
//!
//! count == 0 launches nothing and returns cudaSuccess. A negative count, a null pointer with
//! count > 0, or an unknown approximation/dtype/kernel return cudaErrorInvalidValue. Otherwise the result
//! of cudaPeekAtLastError() after the launch (the launch's own error, or one an earlier call left
//! pending in this thread; never cleared here, so an unrelated earlier failure stays visible to its
//! owner). Input and output may alias exactly (in place) but must not partially overlap. Pointers that
//! are not 16-byte aligned take a scalar kernel with the same numerics. Never allocates and keeps no
//! state: concurrent calls from several threads/streams are safe.
cudaError_t launchGelu(void const* input, void* output, int64_t count, GeluApproximation approximation,
    GeluDataType dtype, GeluKernel kernel, cudaStream_t stream) noexcept;

} // namespace tpb
