#include "residualRmsNormPlugin.h"

#if NV_TENSORRT_MAJOR >= 10

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace tpb
{

bool ResidualRmsNormOp::checkShapes(nvinfer1::Dims const* dims, int32_t nbInputs, char const* where) noexcept
{
    return checkResidualRmsNormShapes(dims, nbInputs, where);
}

bool ResidualRmsNormOp::supportsCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut,
    int32_t nbInputs, int32_t nbOutputs, Params const& /*params*/) noexcept
{
    return residualRmsNormSupportsCombination(
        pos, nbInputs, nbOutputs, inOut[pos].desc.format, inOut[pos].desc.type, inOut[0].desc.type);
}

int ResidualRmsNormOp::writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept
{
    // eps by its bits: two values that print alike must not share timings.
    uint32_t epsBits = 0;
    std::memcpy(&epsBits, &params.eps, sizeof(epsBits));
    return std::snprintf(head, size, "eps=0x%08" PRIx32 ";kernel=%" PRId32 ";table=", epsBits, params.kernel);
}

void ResidualRmsNormOp::serializedFields(Params& params, nvinfer1::PluginField (&fields)[kFieldCount]) noexcept
{
    residualRmsNormSerializedFields(params, fields);
}

nvinfer1::PluginField ResidualRmsNormOp::describeField(int32_t index) noexcept
{
    return describeResidualRmsNormField(index);
}

bool ResidualRmsNormOp::parseFields(
    nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where, bool build) noexcept
{
    return parseResidualRmsNormFields(
        fc, params, where, build ? ResidualRmsNormFieldPolicy::kDEFAULTS_ALLOWED : ResidualRmsNormFieldPolicy::kALL_REQUIRED);
}

int32_t ResidualRmsNormOp::enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
    void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept
{
    return enqueueResidualRmsNorm(inputDesc, inputs, outputs, launch, stream, where);
}

template class PluginV3Base<ResidualRmsNormOp>;
template class PluginV3CreatorBase<ResidualRmsNormOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
