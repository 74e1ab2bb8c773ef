#include "layerNormPlugin.h"

#if NV_TENSORRT_MAJOR >= 10

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace tpb
{

bool LayerNormOp::checkShapes(nvinfer1::Dims const* dims, int32_t nbInputs, char const* where) noexcept
{
    return checkLayerNormShapes(dims, nbInputs, where);
}

bool LayerNormOp::supportsCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut,
    int32_t nbInputs, int32_t nbOutputs, Params const& /*params*/) noexcept
{
    return layerNormSupportsCombination(
        pos, nbInputs, nbOutputs, inOut[pos].desc.format, inOut[pos].desc.type, inOut[0].desc.type);
}

int LayerNormOp::writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept
{
    // eps by its bits: two values that print alike must not share timings.
    uint32_t epsBits = 0;
    std::memcpy(&epsBits, &params.eps, sizeof(epsBits));
    return std::snprintf(head, size, "eps=0x%08" PRIx32 ";kernel=%" PRId32 ";table=", epsBits, params.kernel);
}

void LayerNormOp::serializedFields(Params& params, nvinfer1::PluginField (&fields)[kFieldCount]) noexcept
{
    layerNormSerializedFields(params, fields);
}

nvinfer1::PluginField LayerNormOp::describeField(int32_t index) noexcept
{
    return describeLayerNormField(index);
}

bool LayerNormOp::parseFields(
    nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where, bool build) noexcept
{
    return parseLayerNormFields(
        fc, params, where, build ? LayerNormFieldPolicy::kDEFAULTS_ALLOWED : LayerNormFieldPolicy::kALL_REQUIRED);
}

int32_t LayerNormOp::enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
    void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept
{
    return enqueueLayerNorm(inputDesc, inputs, outputs, launch, stream, where);
}

template class PluginV3Base<LayerNormOp>;
template class PluginV3CreatorBase<LayerNormOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
