// Hard-swish, y = alpha * x * clamp(x + 3, 0, 6) / 6: the CUDA kernel alone. It knows nothing of
// TensorRT (hardSwishPlugin.cpp maps TensorRT's types onto HardSwishDtype), so it can be tested or
// reused without TensorRT headers.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace byo
{

//! The element types the kernel reads and writes (input and output alike).
enum class HardSwishDtype : int32_t
{
    kFloat32 = 0,
    kFloat16 = 1,
};

//! Launches y[i] = alpha * (x[i] * (clamp(x[i] + 3, 0, 6) / 6)) for i < count on \p stream,
//! computed in fp32 for both dtypes (fp16 is read, widened, computed, rounded once on store).
//! Literal IEEE arithmetic, as the formula reads: hardSwish(NaN) and hardSwish(-inf) are NaN
//! (-inf * 0), hardSwish(+inf) is +inf. The gate is divided by 6 before the product with x, so x * 6
//! never overflows where the result would not. Returns the launch's error (cudaSuccess: launched;
//! count 0 launches nothing). Never synchronises.
cudaError_t launchHardSwish(HardSwishDtype dtype, void const* x, void* y, int64_t count, float alpha,
    cudaStream_t stream) noexcept;

} // namespace byo
