// extern "C" ABI over the GELU kernels (the direct path: kernel_bench, the tune rule), for Python ctypes.
// Pure CUDA (no TensorRT). The launch signature is the one every operator's direct path shares
// (workflow/trt_plugin_bench/measure/cuda_direct.py): (in, out, count, float scalar, dtype, kernel, stream); GELU
// has no float field, so the scalar is ignored and the form is the function: tpbGeluErfLaunch (the
// "approximation" field's 0) and tpbGeluTanhLaunch (1). tpbAbiVersion and tpbCudaErrorString are the
// library's (plugin/api/opsKernelsCApi.cu). Errors are cudaError_t values as int.
#include "geluKernel.h"

#include <cstdint>

#define TPB_C_API extern "C" __attribute__((visibility("default")))

namespace
{
int launch(void const* in, void* out, int64_t count, tpb::GeluApproximation approximation, int dtype, int kernel,
    void* stream) noexcept
{
    if (!tpb::isValidGeluDataType(dtype) || !tpb::isValidGeluKernel(kernel))
    {
        return static_cast<int>(cudaErrorInvalidValue);
    }
    return static_cast<int>(tpb::launchGelu(in, out, count, approximation, static_cast<tpb::GeluDataType>(dtype),
        static_cast<tpb::GeluKernel>(kernel), static_cast<cudaStream_t>(stream)));
}
} // namespace

TPB_C_API int tpbGeluErfLaunch(void const* in, void* out, int64_t count, float /*unused*/, int dtype, int kernel, void* stream)
{
    return launch(in, out, count, tpb::GeluApproximation::kERF, dtype, kernel, stream);
}

TPB_C_API int tpbGeluTanhLaunch(void const* in, void* out, int64_t count, float /*unused*/, int dtype, int kernel, void* stream)
{
    return launch(in, out, count, tpb::GeluApproximation::kTANH, dtype, kernel, stream);
}

TPB_C_API int tpbGeluKernelCount(void)
{
    return tpb::kGeluKernelCount;
}

TPB_C_API char const* tpbGeluKernelName(int kernel)
{
    return tpb::geluKernelName(kernel);
}
