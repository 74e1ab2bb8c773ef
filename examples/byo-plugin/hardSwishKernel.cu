// Hard-swish kernel (see hardSwishKernel.h). No TensorRT here.
#include "hardSwishKernel.h"

#include <cuda_fp16.h>

#include <algorithm>

namespace byo
{
namespace
{

constexpr int32_t kBlockSize = 256;
// a grid-stride loop covers any count; more blocks than this add scheduling, not bandwidth
constexpr int64_t kMaxBlocks = int64_t{1} << 20;

__device__ __forceinline__ float hardSwish(float x, float alpha)
{
    // fmaxf(NaN, 0) is 0, so a NaN input gives NaN * 0 = NaN, as the float64 reference does
    float const gate = fminf(fmaxf(x + 3.0F, 0.0F), 6.0F) / 6.0F;
    return alpha * (x * gate);
}

__device__ __forceinline__ float load(float const* p, int64_t i)
{
    return p[i];
}

__device__ __forceinline__ float load(__half const* p, int64_t i)
{
    return __half2float(p[i]);
}

__device__ __forceinline__ void store(float* p, int64_t i, float v)
{
    p[i] = v;
}

__device__ __forceinline__ void store(__half* p, int64_t i, float v)
{
    p[i] = __float2half_rn(v);
}

template <typename T>
__global__ void hardSwishKernel(T const* __restrict__ x, T* __restrict__ y, int64_t count, float alpha)
{
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    {
        store(y, i, hardSwish(load(x, i), alpha));
    }
}

template <typename T>
cudaError_t launch(void const* x, void* y, int64_t count, float alpha, cudaStream_t stream) noexcept
{
    int64_t const blocks = std::min<int64_t>((count + kBlockSize - 1) / kBlockSize, kMaxBlocks);
    hardSwishKernel<T><<<static_cast<unsigned int>(blocks), kBlockSize, 0, stream>>>(
        static_cast<T const*>(x), static_cast<T*>(y), count, alpha);
    return cudaGetLastError();
}

} // namespace

cudaError_t launchHardSwish(HardSwishDtype dtype, void const* x, void* y, int64_t count, float alpha,
    cudaStream_t stream) noexcept
{
    if (count < 0 || (count > 0 && (x == nullptr || y == nullptr)))
    {
        return cudaErrorInvalidValue;
    }
    if (count == 0)
    {
        return cudaSuccess;
    }
    switch (dtype)
    {
    case HardSwishDtype::kFloat32: return launch<float>(x, y, count, alpha, stream);
    case HardSwishDtype::kFloat16: return launch<__half>(x, y, count, alpha, stream);
    }
    return cudaErrorInvalidValue;
}

} // namespace byo
