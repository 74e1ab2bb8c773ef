#include "swishPlugin.h"

#if NV_TENSORRT_MAJOR >= 10

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace tpb
{

bool SwishOp::supportsCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs,
    int32_t nbOutputs, Params const& params) noexcept
{
    return swishSupportsCombination(pos, nbInputs, nbOutputs, inOut[pos].desc.format, inOut[pos].desc.type,
        inOut[0].desc.type, inOut[0].desc.format, inOut[pos].desc.dims.nbDims, params.formats);
}

int SwishOp::writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept
{
    // beta by its bits: two betas that print alike must not share timings.
    uint32_t betaBits = 0;
    std::memcpy(&betaBits, &params.beta, sizeof(betaBits));
    return std::snprintf(head, size, "beta=0x%08" PRIx32 ";kernel=%" PRId32 ";table=", betaBits, params.kernel);
}

void SwishOp::serializedFields(Params& params, nvinfer1::PluginField (&fields)[kFieldCount]) noexcept
{
    fields[0] = nvinfer1::PluginField(kSwishFieldBeta, &params.beta, nvinfer1::PluginFieldType::kFLOAT32, 1);
    fields[1] = nvinfer1::PluginField(kSwishFieldKernel, &params.kernel, nvinfer1::PluginFieldType::kINT32, 1);
    // Always written (length 0 without a table) so the runtime phase can require them.
    fields[2] = nvinfer1::PluginField(
        kSwishFieldKernelTable, params.table, nvinfer1::PluginFieldType::kINT32, 2 * params.bandCount);
    fields[3] = nvinfer1::PluginField(kSwishFieldFormats, &params.formats, nvinfer1::PluginFieldType::kINT32, 1);
}

nvinfer1::PluginField SwishOp::describeField(int32_t index) noexcept
{
    return describeSwishField(index);
}

bool SwishOp::parseFields(
    nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where, bool build) noexcept
{
    return parseSwishFields(
        fc, params, where, build ? SwishFieldPolicy::kDEFAULTS_ALLOWED : SwishFieldPolicy::kALL_REQUIRED);
}

int32_t SwishOp::enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
    void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept
{
    return enqueueSwish(inputDesc[0], inputs[0], outputs[0], launch, stream, where);
}

template class PluginV3Base<SwishOp>;
template class PluginV3CreatorBase<SwishOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
