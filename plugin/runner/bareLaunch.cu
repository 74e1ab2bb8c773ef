// The bare kernel's launch for trt_runner --bare-kernel (bareLaunch.h); the kernel itself is the
// launch-rate probe's, one source: plugin/probes/bareKernel.cuh.
#include "bareLaunch.h"

#include "../probes/bareKernel.cuh"

#include <limits>

namespace tpb
{

int64_t bareBufferBytes(int64_t bytes) noexcept
{
    int64_t const words = bytes <= 0 ? 1 : bytes / 4 + (bytes % 4 != 0);
    return words * 4;
}

cudaError_t launchBareKernel(void const* in, int64_t inBytes, void* out, int64_t outBytes, cudaStream_t stream) noexcept
{
    if (inBytes < 0 || outBytes < 0)
    {
        return cudaErrorInvalidValue;
    }
    int64_t const inWords = inBytes / 4 + (inBytes % 4 != 0);
    int64_t const outWords = outBytes / 4 + (outBytes % 4 != 0);
    int64_t const blocks = tpbBareBlocks(inWords, outWords);
    if (blocks == 0)
    {
        return cudaSuccess; // nothing to read or write
    }
    if (blocks > std::numeric_limits<int32_t>::max())
    {
        return cudaErrorInvalidConfiguration; // over the grid's x limit (2^31 - 1 blocks)
    }
    tpbBareCopy<<<static_cast<unsigned int>(blocks), kTpbBareBlock, 0, stream>>>(
        static_cast<float const*>(in), inWords, static_cast<float*>(out), outWords);
    return cudaGetLastError();
}

} // namespace tpb
