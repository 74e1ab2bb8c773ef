// The C ABI that libtpb_ops_kernels.so shares across its operators (each operator adds its own launch,
// count and name functions beside its kernels, e.g. geluPlugin/geluKernelCApi.cu). Pure CUDA (no TensorRT).
// workflow/trt_plugin_bench/measure/cuda_direct.py reads tpbAbiVersion (its ABI_VERSION) and tpbCudaErrorString
// from whichever direct library a spec names.
#include <cuda_runtime_api.h>

#define TPB_C_API extern "C" __attribute__((visibility("default")))

namespace
{
// Bumped whenever a signature or a meaning of a launch function changes (the same ABI as
// swishPlugin/swishKernelCApi.cu: launch(in, out, count, float, dtype, kernel, stream)).
constexpr int kAbiVersion = 1;
} // namespace

TPB_C_API int tpbAbiVersion(void)
{
    return kAbiVersion;
}

TPB_C_API char const* tpbCudaErrorString(int err)
{
    return cudaGetErrorString(static_cast<cudaError_t>(err));
}
