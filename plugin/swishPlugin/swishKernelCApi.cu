// extern "C" ABI over the Swish kernels, for Python ctypes. Pure CUDA (no TensorRT).
// Integers cross the boundary as plain int / int64_t; errors are cudaError_t values as int.
#include "swishPluginKernel.h"

#include <cstdint>

#define TPB_C_API extern "C" __attribute__((visibility("default")))

namespace
{
// Bumped whenever a signature or a meaning below changes, so the Python side can refuse a stale library.
constexpr int kAbiVersion = 1;
} // namespace

TPB_C_API int tpbSwishLaunch(void const* in, void* out, int64_t count, float beta, int dtype, int kernel, void* stream)
{
    if (!tpb::isValidSwishDataType(dtype) || !tpb::isValidSwishKernel(kernel))
    {
        return static_cast<int>(cudaErrorInvalidValue);
    }
    return static_cast<int>(tpb::launchSwish(in, out, count, beta, static_cast<tpb::SwishDataType>(dtype),
        static_cast<tpb::SwishKernel>(kernel), static_cast<cudaStream_t>(stream)));
}

TPB_C_API int tpbEmptyKernelLaunch(void* stream)
{
    return static_cast<int>(tpb::launchEmptyKernel(static_cast<cudaStream_t>(stream)));
}

TPB_C_API char const* tpbCudaErrorString(int err)
{
    return cudaGetErrorString(static_cast<cudaError_t>(err));
}

TPB_C_API int tpbSwishKernelCount(void)
{
    return tpb::kSwishKernelCount;
}

TPB_C_API char const* tpbSwishKernelName(int kernel)
{
    if (!tpb::isValidSwishKernel(kernel))
    {
        return nullptr;
    }
    return tpb::swishKernelName(static_cast<tpb::SwishKernel>(kernel));
}

TPB_C_API int tpbAbiVersion(void)
{
    return kAbiVersion;
}
