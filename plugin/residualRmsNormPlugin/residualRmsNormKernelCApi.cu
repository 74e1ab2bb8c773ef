// extern "C" ABI over the residual-add + RMSNorm kernels (the direct path: Python ctypes, no TensorRT).
// Errors are cudaError_t values as int. tpbAbiVersion / tpbCudaErrorString are the library's (one
// definition, in the Swish C API of the same library).
#include "residualRmsNormKernel.h"

#include <cstdint>

#define TPB_C_API extern "C" __attribute__((visibility("default")))

//! h = x + r, y = RMSNorm(h) * gamma over rows x hidden (dtype 0 fp32, 1 fp16, 2 bf16; kernel: a
//! ResidualRmsNormKernel id).
TPB_C_API int tpbResidualRmsNormLaunch(void const* x, void const* r, void const* gamma, void* y, void* h, int64_t rows,
    int64_t hidden, float eps, int dtype, int kernel, void* stream)
{
    if (!tpb::isValidRowNormDataType(dtype) || !tpb::isValidResidualRmsNormKernel(kernel))
    {
        return static_cast<int>(cudaErrorInvalidValue);
    }
    return static_cast<int>(tpb::launchResidualRmsNorm(x, r, gamma, y, h, rows, hidden, eps,
        static_cast<tpb::RowNormDataType>(dtype), static_cast<tpb::ResidualRmsNormKernel>(kernel),
        static_cast<cudaStream_t>(stream)));
}

//! One past the highest kernel id (residualRmsNormKernels.def).
TPB_C_API int tpbResidualRmsNormKernelCount(void)
{
    return tpb::kResidualRmsNormKernelCount;
}

//! A kernel id's stable name, NULL for an id the library refuses.
TPB_C_API char const* tpbResidualRmsNormKernelName(int kernel)
{
    return tpb::residualRmsNormKernelName(kernel);
}
