#include "layerNormPluginLegacy.h"

#include "pluginLog.h"

#include <exception>

namespace tpb
{
namespace
{
constexpr char const* kWhere = "TpbLayerNorm v1";
} // namespace

LayerNormPluginLegacy::LayerNormPluginLegacy(LayerNormParams const& params)
    : mParams(params)
{
}

char const* LayerNormPluginLegacy::getPluginType() const noexcept
{
    return kLayerNormPluginName;
}

char const* LayerNormPluginLegacy::getPluginVersion() const noexcept
{
    return kLayerNormPluginLegacyVersion;
}

int32_t LayerNormPluginLegacy::getNbOutputs() const noexcept
{
    return kLayerNormNbOutputs;
}

int32_t LayerNormPluginLegacy::initialize() noexcept
{
    return 0;
}

void LayerNormPluginLegacy::terminate() noexcept {}

size_t LayerNormPluginLegacy::getSerializationSize() const noexcept
{
    return layerNormRecordSize(mParams);
}

void LayerNormPluginLegacy::serialize(void* buffer) const noexcept
{
    if (!writeLayerNormRecord(mParams, buffer, layerNormRecordSize(mParams)))
    {
        TPB_LOG_ERROR(kWhere, "serialize: null buffer");
    }
}

void LayerNormPluginLegacy::destroy() noexcept
{
    delete this;
}

void LayerNormPluginLegacy::setPluginNamespace(char const* pluginNamespace) noexcept
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

char const* LayerNormPluginLegacy::getPluginNamespace() const noexcept
{
    return mNamespace.c_str();
}

nvinfer1::DataType LayerNormPluginLegacy::getOutputDataType(
    int32_t index, nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (index < 0 || index >= kLayerNormNbOutputs || inputTypes == nullptr || nbInputs != kLayerNormNbInputs)
    {
        TPB_LOG_ERROR(kWhere, "getOutputDataType: expected an output below %d of %d inputs, got index %d of %d inputs",
            static_cast<int>(kLayerNormNbOutputs), static_cast<int>(kLayerNormNbInputs), static_cast<int>(index),
            static_cast<int>(nbInputs));
        return nvinfer1::DataType::kFLOAT;
    }
    return inputTypes[0];
}

nvinfer1::IPluginV2DynamicExt* LayerNormPluginLegacy::clone() const noexcept
{
    try
    {
        auto* copy = new LayerNormPluginLegacy(mParams);
        copy->mNamespace = mNamespace;
        return copy;
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "clone: %s", e.what());
    }
    return nullptr;
}

nvinfer1::DimsExprs LayerNormPluginLegacy::getOutputDimensions(int32_t outputIndex, nvinfer1::DimsExprs const* inputs,
    int32_t nbInputs, nvinfer1::IExprBuilder& /*exprBuilder*/) noexcept
{
    if (outputIndex < 0 || outputIndex >= kLayerNormNbOutputs || inputs == nullptr || nbInputs != kLayerNormNbInputs)
    {
        TPB_LOG_ERROR(kWhere, "getOutputDimensions: expected an output below %d of %d inputs, got index %d of %d inputs",
            static_cast<int>(kLayerNormNbOutputs), static_cast<int>(kLayerNormNbInputs), static_cast<int>(outputIndex),
            static_cast<int>(nbInputs));
        nvinfer1::DimsExprs invalid{};
        invalid.nbDims = -1; // no shape at all: TensorRT refuses the network
        return invalid;
    }
    return inputs[0]; // every output has x's shape
}

bool LayerNormPluginLegacy::supportsFormatCombination(
    int32_t pos, nvinfer1::PluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    if (inOut == nullptr || nbInputs != kLayerNormNbInputs || nbOutputs != kLayerNormNbOutputs || pos < 0
        || pos >= nbInputs + nbOutputs)
    {
        return false;
    }
    return layerNormSupportsCombination(pos, nbInputs, nbOutputs, inOut[pos].format, inOut[pos].type, inOut[0].type);
}

void LayerNormPluginLegacy::configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
    nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept
{
    if (in == nullptr || nbInputs != kLayerNormNbInputs || nbOutputs != kLayerNormNbOutputs)
    {
        TPB_LOG_ERROR(kWhere, "configurePlugin: expected %d inputs and %d outputs, got %d and %d",
            static_cast<int>(kLayerNormNbInputs), static_cast<int>(kLayerNormNbOutputs), static_cast<int>(nbInputs),
            static_cast<int>(nbOutputs));
        return;
    }
    nvinfer1::Dims dims[kLayerNormNbInputs];
    for (int32_t k = 0; k < kLayerNormNbInputs; ++k)
    {
        dims[k] = in[k].desc.dims;
    }
    // logged here; enqueue refuses the launch itself (configurePlugin cannot fail in this interface)
    static_cast<void>(checkLayerNormShapes(dims, nbInputs, "TpbLayerNorm v1 configurePlugin"));
}

size_t LayerNormPluginLegacy::getWorkspaceSize(nvinfer1::PluginTensorDesc const* /*inputs*/, int32_t /*nbInputs*/,
    nvinfer1::PluginTensorDesc const* /*outputs*/, int32_t /*nbOutputs*/) const noexcept
{
    return 0;
}

int32_t LayerNormPluginLegacy::enqueue(nvinfer1::PluginTensorDesc const* inputDesc,
    nvinfer1::PluginTensorDesc const* /*outputDesc*/, void const* const* inputs, void* const* outputs,
    void* /*workspace*/, cudaStream_t stream) noexcept
{
    if (inputDesc == nullptr || inputs == nullptr || outputs == nullptr)
    {
        TPB_LOG_ERROR(kWhere, "enqueue: null tensor descriptors or pointers");
        return -1;
    }
    return enqueueLayerNorm(inputDesc, inputs, outputs, mParams, stream, kWhere);
}

LayerNormPluginLegacyCreator::LayerNormPluginLegacyCreator()
{
    for (int32_t i = 0; i < kLayerNormFieldCount; ++i)
    {
        mFieldDescriptions[i] = describeLayerNormField(i);
    }
    mFieldCollection.nbFields = kLayerNormFieldCount;
    mFieldCollection.fields = mFieldDescriptions;
}

char const* LayerNormPluginLegacyCreator::getPluginName() const noexcept
{
    return kLayerNormPluginName;
}

char const* LayerNormPluginLegacyCreator::getPluginVersion() const noexcept
{
    return kLayerNormPluginLegacyVersion;
}

nvinfer1::PluginFieldCollection const* LayerNormPluginLegacyCreator::getFieldNames() noexcept
{
    return &mFieldCollection;
}

nvinfer1::IPluginV2* LayerNormPluginLegacyCreator::createPlugin(
    char const* /*name*/, nvinfer1::PluginFieldCollection const* fc) noexcept
{
    try
    {
        LayerNormParams params;
        if (!parseLayerNormFields(fc, params, "TpbLayerNorm v1 createPlugin", LayerNormFieldPolicy::kDEFAULTS_ALLOWED))
        {
            return nullptr;
        }
        auto* plugin = new LayerNormPluginLegacy(params);
        plugin->setPluginNamespace(mNamespace.get());
        return plugin;
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "createPlugin: %s", e.what());
    }
    return nullptr;
}

nvinfer1::IPluginV2* LayerNormPluginLegacyCreator::deserializePlugin(
    char const* /*name*/, void const* serialData, size_t serialLength) noexcept
{
    try
    {
        LayerNormParams params;
        if (!readLayerNormRecord(serialData, serialLength, params, "TpbLayerNorm v1 deserializePlugin"))
        {
            return nullptr;
        }
        auto* plugin = new LayerNormPluginLegacy(params);
        plugin->setPluginNamespace(mNamespace.get());
        return plugin;
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "deserializePlugin: %s", e.what());
    }
    return nullptr;
}

void LayerNormPluginLegacyCreator::setPluginNamespace(char const* pluginNamespace) noexcept
{
    if (!mNamespace.set(pluginNamespace))
    {
        TPB_LOG_ERROR(kWhere, "setPluginNamespace: could not store the namespace (out of memory)");
    }
}

char const* LayerNormPluginLegacyCreator::getPluginNamespace() const noexcept
{
    return mNamespace.get();
}

} // namespace tpb
