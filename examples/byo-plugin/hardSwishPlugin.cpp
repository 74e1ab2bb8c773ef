// Hard-swish plugin and creator (see hardSwishPlugin.h). TensorRT calls every method through a
// noexcept interface: nothing may throw out of one, so each that allocates catches and reports.
#include "hardSwishPlugin.h"

#include "hardSwishKernel.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>

namespace byo
{
namespace
{

//! The plugin's messages: stderr, with its name (a host without TensorRT's logger still sees them).
void report(char const* where, char const* what) noexcept
{
    std::fprintf(stderr, "[HardSwish plugin] %s: %s\n", where, what);
}

bool validAlpha(float alpha) noexcept
{
    return std::isfinite(alpha);
}

int64_t volume(nvinfer1::Dims const& dims) noexcept
{
    int64_t n = 1;
    for (int32_t i = 0; i < dims.nbDims; ++i)
    {
        n *= dims.d[i];
    }
    return n;
}

} // namespace

// -- plugin ------------------------------------------------------------------------------------
HardSwishPlugin::HardSwishPlugin(float alpha) noexcept
    : mAlpha(alpha)
{
}

char const* HardSwishPlugin::getPluginType() const noexcept
{
    return kHardSwishName;
}

char const* HardSwishPlugin::getPluginVersion() const noexcept
{
    return kHardSwishVersion;
}

int32_t HardSwishPlugin::getNbOutputs() const noexcept
{
    return 1;
}

int32_t HardSwishPlugin::initialize() noexcept
{
    return 0; // no resources: nothing to acquire per engine
}

void HardSwishPlugin::terminate() noexcept {}

size_t HardSwishPlugin::getSerializationSize() const noexcept
{
    return sizeof(mAlpha);
}

void HardSwishPlugin::serialize(void* buffer) const noexcept
{
    std::memcpy(buffer, &mAlpha, sizeof(mAlpha));
}

void HardSwishPlugin::destroy() noexcept
{
    delete this; // TensorRT owns each instance it got from the creator or clone()
}

void HardSwishPlugin::setPluginNamespace(char const* pluginNamespace) noexcept
{
    try
    {
        mNamespace = pluginNamespace == nullptr ? "" : pluginNamespace;
    }
    catch (std::exception const& e)
    {
        report("setPluginNamespace", e.what());
    }
}

char const* HardSwishPlugin::getPluginNamespace() const noexcept
{
    return mNamespace.c_str();
}

nvinfer1::DataType HardSwishPlugin::getOutputDataType(
    int32_t index, nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    static_cast<void>(index);
    return nbInputs > 0 ? inputTypes[0] : nvinfer1::DataType::kFLOAT;
}

nvinfer1::IPluginV2DynamicExt* HardSwishPlugin::clone() const noexcept
{
    try
    {
        auto copy = std::make_unique<HardSwishPlugin>(mAlpha);
        copy->setPluginNamespace(mNamespace.c_str());
        return copy.release();
    }
    catch (std::exception const& e)
    {
        report("clone", e.what());
        return nullptr;
    }
}

nvinfer1::DimsExprs HardSwishPlugin::getOutputDimensions(int32_t outputIndex, nvinfer1::DimsExprs const* inputs,
    int32_t nbInputs, nvinfer1::IExprBuilder& exprBuilder) noexcept
{
    static_cast<void>(outputIndex);
    static_cast<void>(nbInputs);
    static_cast<void>(exprBuilder);
    return inputs[0]; // elementwise: the output has the input's shape
}

bool HardSwishPlugin::supportsFormatCombination(
    int32_t pos, nvinfer1::PluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    if (nbInputs != 1 || nbOutputs != 1 || pos < 0 || pos > 1)
    {
        return false;
    }
    nvinfer1::PluginTensorDesc const& desc = inOut[pos];
    if (desc.format != nvinfer1::TensorFormat::kLINEAR)
    {
        return false;
    }
    if (pos == 1) // the output: the input's type
    {
        return desc.type == inOut[0].type;
    }
    return desc.type == nvinfer1::DataType::kFLOAT || desc.type == nvinfer1::DataType::kHALF;
}

void HardSwishPlugin::configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
    nvinfer1::DynamicPluginTensorDesc const* out, int32_t nbOutputs) noexcept
{
    static_cast<void>(in);
    static_cast<void>(nbInputs);
    static_cast<void>(out);
    static_cast<void>(nbOutputs); // nothing depends on the shapes: the kernel reads them at enqueue
}

size_t HardSwishPlugin::getWorkspaceSize(nvinfer1::PluginTensorDesc const* inputs, int32_t nbInputs,
    nvinfer1::PluginTensorDesc const* outputs, int32_t nbOutputs) const noexcept
{
    static_cast<void>(inputs);
    static_cast<void>(nbInputs);
    static_cast<void>(outputs);
    static_cast<void>(nbOutputs);
    return 0;
}

int32_t HardSwishPlugin::enqueue(nvinfer1::PluginTensorDesc const* inputDesc,
    nvinfer1::PluginTensorDesc const* outputDesc, void const* const* inputs, void* const* outputs, void* workspace,
    cudaStream_t stream) noexcept
{
    static_cast<void>(outputDesc);
    static_cast<void>(workspace);
    HardSwishDtype dtype{};
    switch (inputDesc[0].type)
    {
    case nvinfer1::DataType::kFLOAT: dtype = HardSwishDtype::kFloat32; break;
    case nvinfer1::DataType::kHALF: dtype = HardSwishDtype::kFloat16; break;
    default: report("enqueue", "input type is neither fp32 nor fp16"); return -1;
    }
    cudaError_t const status
        = launchHardSwish(dtype, inputs[0], outputs[0], volume(inputDesc[0].dims), mAlpha, stream);
    if (status != cudaSuccess)
    {
        report("enqueue", cudaGetErrorString(status));
        return -1;
    }
    return 0;
}

// -- creator -----------------------------------------------------------------------------------
HardSwishPluginCreator::HardSwishPluginCreator() noexcept
    : mField{"alpha", nullptr, nvinfer1::PluginFieldType::kFLOAT32, 1}
{
    mFields.nbFields = 1;
    mFields.fields = &mField;
}

char const* HardSwishPluginCreator::getPluginName() const noexcept
{
    return kHardSwishName;
}

char const* HardSwishPluginCreator::getPluginVersion() const noexcept
{
    return kHardSwishVersion;
}

nvinfer1::PluginFieldCollection const* HardSwishPluginCreator::getFieldNames() noexcept
{
    return &mFields;
}

nvinfer1::IPluginV2* HardSwishPluginCreator::createPlugin(
    char const* name, nvinfer1::PluginFieldCollection const* fc) noexcept
{
    static_cast<void>(name);
    float alpha = kHardSwishDefaultAlpha;
    for (int32_t i = 0; fc != nullptr && i < fc->nbFields; ++i)
    {
        nvinfer1::PluginField const& field = fc->fields[i];
        if (field.name == nullptr || std::strcmp(field.name, "alpha") != 0)
        {
            report("createPlugin", "unknown field (allowed: alpha)");
            return nullptr;
        }
        if (field.type != nvinfer1::PluginFieldType::kFLOAT32 || field.length != 1 || field.data == nullptr)
        {
            report("createPlugin", "field alpha must be one kFLOAT32 value");
            return nullptr;
        }
        std::memcpy(&alpha, field.data, sizeof(alpha));
    }
    if (!validAlpha(alpha))
    {
        report("createPlugin", "alpha must be finite");
        return nullptr;
    }
    try
    {
        auto plugin = std::make_unique<HardSwishPlugin>(alpha);
        plugin->setPluginNamespace(mNamespace.c_str());
        return plugin.release();
    }
    catch (std::exception const& e)
    {
        report("createPlugin", e.what());
        return nullptr;
    }
}

nvinfer1::IPluginV2* HardSwishPluginCreator::deserializePlugin(
    char const* name, void const* serialData, size_t serialLength) noexcept
{
    static_cast<void>(name);
    float alpha = 0.0F;
    if (serialData == nullptr || serialLength != sizeof(alpha))
    {
        report("deserializePlugin", "the serialized plugin is not the 4 bytes of alpha");
        return nullptr;
    }
    std::memcpy(&alpha, serialData, sizeof(alpha));
    if (!validAlpha(alpha))
    {
        report("deserializePlugin", "the serialized alpha is not finite");
        return nullptr;
    }
    try
    {
        auto plugin = std::make_unique<HardSwishPlugin>(alpha);
        plugin->setPluginNamespace(mNamespace.c_str());
        return plugin.release();
    }
    catch (std::exception const& e)
    {
        report("deserializePlugin", e.what());
        return nullptr;
    }
}

void HardSwishPluginCreator::setPluginNamespace(char const* pluginNamespace) noexcept
{
    try
    {
        mNamespace = pluginNamespace == nullptr ? "" : pluginNamespace;
    }
    catch (std::exception const& e)
    {
        report("setPluginNamespace", e.what());
    }
}

char const* HardSwishPluginCreator::getPluginNamespace() const noexcept
{
    return mNamespace.c_str();
}

} // namespace byo
