#include "geluPlugin.h"

#if NV_TENSORRT_MAJOR >= 10

#include <cinttypes>
#include <cstdio>

namespace tpb
{

bool GeluOp::supportsCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs,
    int32_t nbOutputs, Params const& /*params*/) noexcept
{
    return geluSupportsCombination(
        pos, nbInputs, nbOutputs, inOut[pos].desc.format, inOut[pos].desc.type, inOut[0].desc.type);
}

int GeluOp::writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept
{
    return std::snprintf(head, size, "approximation=%" PRId32 ";kernel=%" PRId32 ";table=", params.approximation,
        params.kernel);
}

void GeluOp::serializedFields(Params& params, nvinfer1::PluginField (&fields)[kFieldCount]) noexcept
{
    fields[0] = nvinfer1::PluginField(
        kGeluFieldApproximation, &params.approximation, nvinfer1::PluginFieldType::kINT32, 1);
    fields[1] = nvinfer1::PluginField(kGeluFieldKernel, &params.kernel, nvinfer1::PluginFieldType::kINT32, 1);
    // Always written (length 0 without a table) so the runtime phase can require all three fields.
    fields[2] = nvinfer1::PluginField(
        kGeluFieldKernelTable, params.table, nvinfer1::PluginFieldType::kINT32, 2 * params.bandCount);
}

nvinfer1::PluginField GeluOp::describeField(int32_t index) noexcept
{
    return describeGeluField(index);
}

bool GeluOp::parseFields(
    nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where, bool build) noexcept
{
    return parseGeluFields(
        fc, params, where, build ? GeluFieldPolicy::kDEFAULTS_ALLOWED : GeluFieldPolicy::kALL_REQUIRED);
}

int32_t GeluOp::enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
    void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept
{
    return enqueueGelu(inputDesc[0], inputs[0], outputs[0], launch, stream, where);
}

template class PluginV3Base<GeluOp>;
template class PluginV3CreatorBase<GeluOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
