// GELU as an IPluginV2DynamicExt ("Gelu", version "1"): see geluPluginLegacy.h.
#include "geluPluginLegacy.h"

#include "pluginLog.h"

#include <cstring>
#include <exception>

namespace tpb
{
namespace
{
constexpr char const* kWhere = "Gelu v1";
} // namespace

GeluPluginLegacy::GeluPluginLegacy(GeluParams const& params)
    : mParams(params)
{
}

char const* GeluPluginLegacy::getPluginType() const noexcept
{
    return kGeluPluginName;
}

char const* GeluPluginLegacy::getPluginVersion() const noexcept
{
    return kGeluPluginLegacyVersion;
}

int32_t GeluPluginLegacy::getNbOutputs() const noexcept
{
    return 1;
}

int32_t GeluPluginLegacy::initialize() noexcept
{
    return 0;
}

void GeluPluginLegacy::terminate() noexcept {}

size_t GeluPluginLegacy::getSerializationSize() const noexcept
{
    return geluRecordSize(mParams);
}

void GeluPluginLegacy::serialize(void* buffer) const noexcept
{
    // TensorRT provides exactly getSerializationSize() bytes.
    if (!writeGeluRecord(mParams, buffer, geluRecordSize(mParams)))
    {
        TPB_LOG_ERROR(kWhere, "serialize: null buffer");
    }
}

void GeluPluginLegacy::destroy() noexcept
{
    delete this;
}

void GeluPluginLegacy::setPluginNamespace(char const* pluginNamespace) noexcept
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

char const* GeluPluginLegacy::getPluginNamespace() const noexcept
{
    return mNamespace.c_str();
}

nvinfer1::DataType GeluPluginLegacy::getOutputDataType(
    int32_t index, nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (index != 0 || inputTypes == nullptr || nbInputs != 1)
    {
        TPB_LOG_ERROR(kWhere, "getOutputDataType: expected output 0 of 1 input, got index %d of %d inputs",
            static_cast<int>(index), static_cast<int>(nbInputs));
        return nvinfer1::DataType::kFLOAT;
    }
    return inputTypes[0];
}

nvinfer1::IPluginV2DynamicExt* GeluPluginLegacy::clone() const noexcept
{
    try
    {
        auto* copy = new GeluPluginLegacy(mParams);
        copy->mNamespace = mNamespace;
        return copy;
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "clone: %s", e.what());
    }
    return nullptr;
}

nvinfer1::DimsExprs GeluPluginLegacy::getOutputDimensions(int32_t outputIndex, nvinfer1::DimsExprs const* inputs,
    int32_t nbInputs, nvinfer1::IExprBuilder& /*exprBuilder*/) noexcept
{
    if (outputIndex != 0 || inputs == nullptr || nbInputs != 1)
    {
        TPB_LOG_ERROR(kWhere, "getOutputDimensions: expected output 0 of 1 input, got index %d of %d inputs",
            static_cast<int>(outputIndex), static_cast<int>(nbInputs));
        // nbDims = 0 would be a valid scalar shape and TensorRT would build it; -1 is no shape at
        // all, so TensorRT refuses the network instead.
        nvinfer1::DimsExprs invalid{};
        invalid.nbDims = -1;
        return invalid;
    }
    return inputs[0];
}

bool GeluPluginLegacy::supportsFormatCombination(
    int32_t pos, nvinfer1::PluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    if (inOut == nullptr || nbInputs != 1 || nbOutputs != 1 || pos < 0 || pos >= nbInputs + nbOutputs)
    {
        return false;
    }
    return geluSupportsCombination(pos, nbInputs, nbOutputs, inOut[pos].format, inOut[pos].type, inOut[0].type);
}

void GeluPluginLegacy::configurePlugin(nvinfer1::DynamicPluginTensorDesc const* /*in*/, int32_t nbInputs,
    nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept
{
    // Nothing depends on shapes or types ahead of enqueue; only sanity-check the arity.
    if (nbInputs != 1 || nbOutputs != 1)
    {
        TPB_LOG_ERROR(kWhere, "configurePlugin: expected 1 input and 1 output, got %d and %d",
            static_cast<int>(nbInputs), static_cast<int>(nbOutputs));
    }
}

size_t GeluPluginLegacy::getWorkspaceSize(nvinfer1::PluginTensorDesc const* /*inputs*/, int32_t /*nbInputs*/,
    nvinfer1::PluginTensorDesc const* /*outputs*/, int32_t /*nbOutputs*/) const noexcept
{
    return 0;
}

int32_t GeluPluginLegacy::enqueue(nvinfer1::PluginTensorDesc const* inputDesc,
    nvinfer1::PluginTensorDesc const* /*outputDesc*/, void const* const* inputs, void* const* outputs,
    void* /*workspace*/, cudaStream_t stream) noexcept
{
    if (inputDesc == nullptr || inputs == nullptr || outputs == nullptr)
    {
        TPB_LOG_ERROR(kWhere, "enqueue: null tensor descriptors or pointers");
        return -1;
    }
    return enqueueGelu(inputDesc[0], inputs[0], outputs[0], mParams, stream, kWhere);
}

GeluPluginLegacyCreator::GeluPluginLegacyCreator()
{
    for (int32_t i = 0; i < kGeluFieldCount; ++i)
    {
        mFieldDescriptions[i] = describeGeluField(i);
    }
    mFieldCollection.nbFields = kGeluFieldCount;
    mFieldCollection.fields = mFieldDescriptions;
}

char const* GeluPluginLegacyCreator::getPluginName() const noexcept
{
    return kGeluPluginName;
}

char const* GeluPluginLegacyCreator::getPluginVersion() const noexcept
{
    return kGeluPluginLegacyVersion;
}

nvinfer1::PluginFieldCollection const* GeluPluginLegacyCreator::getFieldNames() noexcept
{
    return &mFieldCollection;
}

nvinfer1::IPluginV2* GeluPluginLegacyCreator::createPlugin(
    char const* /*name*/, nvinfer1::PluginFieldCollection const* fc) noexcept
{
    try
    {
        GeluParams params;
        if (!parseGeluFields(fc, params, "Gelu v1 createPlugin", GeluFieldPolicy::kDEFAULTS_ALLOWED))
        {
            return nullptr;
        }
        auto* plugin = new GeluPluginLegacy(params);
        plugin->setPluginNamespace(mNamespace.get());
        return plugin;
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "createPlugin: %s", e.what());
    }
    return nullptr;
}

nvinfer1::IPluginV2* GeluPluginLegacyCreator::deserializePlugin(
    char const* /*name*/, void const* serialData, size_t serialLength) noexcept
{
    try
    {
        GeluParams params;
        if (!readGeluRecord(serialData, serialLength, params, "Gelu v1 deserializePlugin"))
        {
            return nullptr;
        }
        auto* plugin = new GeluPluginLegacy(params);
        plugin->setPluginNamespace(mNamespace.get());
        return plugin;
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "deserializePlugin: %s", e.what());
    }
    return nullptr;
}

void GeluPluginLegacyCreator::setPluginNamespace(char const* pluginNamespace) noexcept
{
    if (!mNamespace.set(pluginNamespace))
    {
        TPB_LOG_ERROR(kWhere, "setPluginNamespace: could not store the namespace (out of memory)");
    }
}

char const* GeluPluginLegacyCreator::getPluginNamespace() const noexcept
{
    return mNamespace.get();
}

} // namespace tpb
