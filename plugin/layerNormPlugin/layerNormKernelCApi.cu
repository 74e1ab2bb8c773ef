// extern "C" ABI over the LayerNorm kernels (the direct path: Python ctypes, no TensorRT). Errors are
// cudaError_t values as int. tpbAbiVersion / tpbCudaErrorString are the library's (one definition, in
// the Swish C API of the same library).
#include "layerNormKernel.h"

#include <cstdint>

#define TPB_C_API extern "C" __attribute__((visibility("default")))

//! y = LayerNorm(x) over rows x hidden (dtype 0 fp32, 1 fp16, 2 bf16; kernel: a LayerNormKernel id).
TPB_C_API int tpbLayerNormLaunch(void const* x, void const* gamma, void const* beta, void* y, int64_t rows,
    int64_t hidden, float eps, int dtype, int kernel, void* stream)
{
    if (!tpb::isValidRowNormDataType(dtype) || !tpb::isValidLayerNormKernel(kernel))
    {
        return static_cast<int>(cudaErrorInvalidValue);
    }
    return static_cast<int>(tpb::launchLayerNorm(x, gamma, beta, y, rows, hidden, eps,
        static_cast<tpb::RowNormDataType>(dtype), static_cast<tpb::LayerNormKernel>(kernel),
        static_cast<cudaStream_t>(stream)));
}

//! One past the highest kernel id (layerNormKernels.def).
TPB_C_API int tpbLayerNormKernelCount(void)
{
    return tpb::kLayerNormKernelCount;
}

//! A kernel id's stable name, NULL for an id the library refuses.
TPB_C_API char const* tpbLayerNormKernelName(int kernel)
{
    return tpb::layerNormKernelName(kernel);
}
