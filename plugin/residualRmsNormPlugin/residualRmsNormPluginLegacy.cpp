#include "residualRmsNormPluginLegacy.h"

#include "pluginLog.h"

#include <exception>

namespace tpb
{
namespace
{
constexpr char const* kWhere = "TpbResidualRmsNorm v1";
} // namespace

ResidualRmsNormPluginLegacy::ResidualRmsNormPluginLegacy(ResidualRmsNormParams const& params)
    : mParams(params)
{
}

char const* ResidualRmsNormPluginLegacy::getPluginType() const noexcept
{
    return kResidualRmsNormPluginName;
}

char const* ResidualRmsNormPluginLegacy::getPluginVersion() const noexcept
{
    return kResidualRmsNormPluginLegacyVersion;
}

int32_t ResidualRmsNormPluginLegacy::getNbOutputs() const noexcept
{
    return kResidualRmsNormNbOutputs;
}

int32_t ResidualRmsNormPluginLegacy::initialize() noexcept
{
    return 0;
}

void ResidualRmsNormPluginLegacy::terminate() noexcept {}

size_t ResidualRmsNormPluginLegacy::getSerializationSize() const noexcept
{
    return residualRmsNormRecordSize(mParams);
}

void ResidualRmsNormPluginLegacy::serialize(void* buffer) const noexcept
{
    if (!writeResidualRmsNormRecord(mParams, buffer, residualRmsNormRecordSize(mParams)))
    {
        TPB_LOG_ERROR(kWhere, "serialize: null buffer");
    }
}

void ResidualRmsNormPluginLegacy::destroy() noexcept
{
    delete this;
}

void ResidualRmsNormPluginLegacy::setPluginNamespace(char const* pluginNamespace) noexcept
{
    try
    {
        mNamespace = pluginNamespace != nullptr ? pluginNamespace : "";
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "setPluginNamespace: %s", e.what());
    }
}

char const* ResidualRmsNormPluginLegacy::getPluginNamespace() const noexcept
{
    return mNamespace.c_str();
}

nvinfer1::DataType ResidualRmsNormPluginLegacy::getOutputDataType(
    int32_t index, nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (index < 0 || index >= kResidualRmsNormNbOutputs || inputTypes == nullptr || nbInputs != kResidualRmsNormNbInputs)
    {
        TPB_LOG_ERROR(kWhere, "getOutputDataType: expected an output below %d of %d inputs, got index %d of %d inputs",
            static_cast<int>(kResidualRmsNormNbOutputs), static_cast<int>(kResidualRmsNormNbInputs), static_cast<int>(index),
            static_cast<int>(nbInputs));
        return nvinfer1::DataType::kFLOAT;
    }
    return inputTypes[0];
}

nvinfer1::IPluginV2DynamicExt* ResidualRmsNormPluginLegacy::clone() const noexcept
{
    try
    {
        auto* copy = new ResidualRmsNormPluginLegacy(mParams);
        copy->mNamespace = mNamespace;
        return copy;
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "clone: %s", e.what());
    }
    return nullptr;
}

nvinfer1::DimsExprs ResidualRmsNormPluginLegacy::getOutputDimensions(int32_t outputIndex, nvinfer1::DimsExprs const* inputs,
    int32_t nbInputs, nvinfer1::IExprBuilder& /*exprBuilder*/) noexcept
{
    if (outputIndex < 0 || outputIndex >= kResidualRmsNormNbOutputs || inputs == nullptr || nbInputs != kResidualRmsNormNbInputs)
    {
        TPB_LOG_ERROR(kWhere, "getOutputDimensions: expected an output below %d of %d inputs, got index %d of %d inputs",
            static_cast<int>(kResidualRmsNormNbOutputs), static_cast<int>(kResidualRmsNormNbInputs), static_cast<int>(outputIndex),
            static_cast<int>(nbInputs));
        nvinfer1::DimsExprs invalid{};
        invalid.nbDims = -1; // no shape at all: TensorRT refuses the network
        return invalid;
    }
    return inputs[0]; // every output has x's shape
}

bool ResidualRmsNormPluginLegacy::supportsFormatCombination(
    int32_t pos, nvinfer1::PluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    if (inOut == nullptr || nbInputs != kResidualRmsNormNbInputs || nbOutputs != kResidualRmsNormNbOutputs || pos < 0
        || pos >= nbInputs + nbOutputs)
    {
        return false;
    }
    return residualRmsNormSupportsCombination(pos, nbInputs, nbOutputs, inOut[pos].format, inOut[pos].type, inOut[0].type);
}

void ResidualRmsNormPluginLegacy::configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
    nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept
{
    if (in == nullptr || nbInputs != kResidualRmsNormNbInputs || nbOutputs != kResidualRmsNormNbOutputs)
    {
        TPB_LOG_ERROR(kWhere, "configurePlugin: expected %d inputs and %d outputs, got %d and %d",
            static_cast<int>(kResidualRmsNormNbInputs), static_cast<int>(kResidualRmsNormNbOutputs), static_cast<int>(nbInputs),
            static_cast<int>(nbOutputs));
        return;
    }
    nvinfer1::Dims dims[kResidualRmsNormNbInputs];
    for (int32_t k = 0; k < kResidualRmsNormNbInputs; ++k)
    {
        dims[k] = in[k].desc.dims;
    }
    // logged here; enqueue refuses the launch itself (configurePlugin cannot fail in this interface)
    static_cast<void>(checkResidualRmsNormShapes(dims, nbInputs, "TpbResidualRmsNorm v1 configurePlugin"));
}

size_t ResidualRmsNormPluginLegacy::getWorkspaceSize(nvinfer1::PluginTensorDesc const* /*inputs*/, int32_t /*nbInputs*/,
    nvinfer1::PluginTensorDesc const* /*outputs*/, int32_t /*nbOutputs*/) const noexcept
{
    return 0;
}

int32_t ResidualRmsNormPluginLegacy::enqueue(nvinfer1::PluginTensorDesc const* inputDesc,
    nvinfer1::PluginTensorDesc const* /*outputDesc*/, void const* const* inputs, void* const* outputs,
    void* /*workspace*/, cudaStream_t stream) noexcept
{
    if (inputDesc == nullptr || inputs == nullptr || outputs == nullptr)
    {
        TPB_LOG_ERROR(kWhere, "enqueue: null tensor descriptors or pointers");
        return -1;
    }
    return enqueueResidualRmsNorm(inputDesc, inputs, outputs, mParams, stream, kWhere);
}

ResidualRmsNormPluginLegacyCreator::ResidualRmsNormPluginLegacyCreator()
{
    for (int32_t i = 0; i < kResidualRmsNormFieldCount; ++i)
    {
        mFieldDescriptions[i] = describeResidualRmsNormField(i);
    }
    mFieldCollection.nbFields = kResidualRmsNormFieldCount;
    mFieldCollection.fields = mFieldDescriptions;
}

char const* ResidualRmsNormPluginLegacyCreator::getPluginName() const noexcept
{
    return kResidualRmsNormPluginName;
}

char const* ResidualRmsNormPluginLegacyCreator::getPluginVersion() const noexcept
{
    return kResidualRmsNormPluginLegacyVersion;
}

nvinfer1::PluginFieldCollection const* ResidualRmsNormPluginLegacyCreator::getFieldNames() noexcept
{
    return &mFieldCollection;
}

nvinfer1::IPluginV2* ResidualRmsNormPluginLegacyCreator::createPlugin(
    char const* /*name*/, nvinfer1::PluginFieldCollection const* fc) noexcept
{
    try
    {
        ResidualRmsNormParams params;
        if (!parseResidualRmsNormFields(fc, params, "TpbResidualRmsNorm v1 createPlugin", ResidualRmsNormFieldPolicy::kDEFAULTS_ALLOWED))
        {
            return nullptr;
        }
        auto* plugin = new ResidualRmsNormPluginLegacy(params);
        plugin->setPluginNamespace(mNamespace.get());
        return plugin;
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "createPlugin: %s", e.what());
    }
    return nullptr;
}

nvinfer1::IPluginV2* ResidualRmsNormPluginLegacyCreator::deserializePlugin(
    char const* /*name*/, void const* serialData, size_t serialLength) noexcept
{
    try
    {
        ResidualRmsNormParams params;
        if (!readResidualRmsNormRecord(serialData, serialLength, params, "TpbResidualRmsNorm v1 deserializePlugin"))
        {
            return nullptr;
        }
        auto* plugin = new ResidualRmsNormPluginLegacy(params);
        plugin->setPluginNamespace(mNamespace.get());
        return plugin;
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "deserializePlugin: %s", e.what());
    }
    return nullptr;
}

void ResidualRmsNormPluginLegacyCreator::setPluginNamespace(char const* pluginNamespace) noexcept
{
    if (!mNamespace.set(pluginNamespace))
    {
        TPB_LOG_ERROR(kWhere, "setPluginNamespace: could not store the namespace (out of memory)");
    }
}

char const* ResidualRmsNormPluginLegacyCreator::getPluginNamespace() const noexcept
{
    return mNamespace.get();
}

} // namespace tpb
