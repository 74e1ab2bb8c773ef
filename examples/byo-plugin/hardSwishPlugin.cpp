// Hard-swish plugin and creator (see hardSwishPlugin.h). TensorRT calls every method through a
// noexcept interface: nothing may throw out of one, so each that allocates catches and reports.
#include "hardSwishPlugin.h"

#include "hardSwishCore.h"
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

//! The collection as hardSwishCore.h's plain views: null, a negative or too large count or no fields
//! pointer are passed on as "no views" with the count, for parseHardSwishFields to refuse by name.
bool parseFields(nvinfer1::PluginFieldCollection const* fc, float& alpha, Problem& problem) noexcept
{
    if (fc == nullptr)
    {
        return parseHardSwishFields(nullptr, 0, alpha, problem);
    }
    FieldView views[kHardSwishMaxFields];
    bool const convertible = fc->fields != nullptr && fc->nbFields >= 0 && fc->nbFields <= kHardSwishMaxFields;
    for (int32_t i = 0; convertible && i < fc->nbFields; ++i)
    {
        nvinfer1::PluginField const& field = fc->fields[i];
        views[i] = FieldView{field.name, field.data,
            field.type == nvinfer1::PluginFieldType::kFLOAT32 ? FieldKind::kFloat32 : FieldKind::kOther, field.length};
    }
    return parseHardSwishFields(convertible ? views : nullptr, fc->nbFields, alpha, problem);
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
    return kHardSwishRecordSize; // magic, version, length, alpha, checksum (hardSwishCore.h)
}

void HardSwishPlugin::serialize(void* buffer) const noexcept
{
    // TensorRT provides exactly getSerializationSize() bytes.
    if (!writeHardSwishRecord(mAlpha, buffer, kHardSwishRecordSize))
    {
        report("serialize", "null buffer");
    }
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
    if (index != 0 || inputTypes == nullptr || nbInputs != 1)
    {
        report("getOutputDataType", "expected output 0 of 1 input type");
        return nvinfer1::DataType::kFLOAT;
    }
    return inputTypes[0];
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
    static_cast<void>(exprBuilder);
    if (outputIndex != 0 || inputs == nullptr || nbInputs != 1 || inputs[0].nbDims < 0
        || inputs[0].nbDims > kHardSwishMaxRank)
    {
        report("getOutputDimensions", "expected output 0 of 1 input of rank 0 .. 8");
        nvinfer1::DimsExprs invalid{};
        invalid.nbDims = -1; // no shape at all: TensorRT refuses the network (0 would be a scalar)
        return invalid;
    }
    return inputs[0]; // elementwise: the output has the input's shape
}

bool HardSwishPlugin::supportsFormatCombination(
    int32_t pos, nvinfer1::PluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    if (inOut == nullptr || nbInputs != 1 || nbOutputs != 1 || pos < 0 || pos > 1)
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
    if (inputDesc == nullptr || inputs == nullptr || outputs == nullptr)
    {
        report("enqueue", "null tensor descriptors or pointers");
        return -1;
    }
    Problem problem;
    int64_t count = 0;
    if (!hardSwishElementCount(inputDesc[0].dims.d, inputDesc[0].dims.nbDims, count, problem))
    {
        report("enqueue", problem.c_str());
        return -1;
    }
    if (count == 0)
    {
        return 0; // a dimension is 0: nothing to compute (never a wrapped product)
    }
    if (inputs[0] == nullptr || outputs[0] == nullptr)
    {
        report("enqueue", "null input or output buffer");
        return -1;
    }
    HardSwishDtype dtype{};
    switch (inputDesc[0].type)
    {
    case nvinfer1::DataType::kFLOAT: dtype = HardSwishDtype::kFloat32; break;
    case nvinfer1::DataType::kHALF: dtype = HardSwishDtype::kFloat16; break;
    default: report("enqueue", "input type is neither fp32 nor fp16"); return -1;
    }
    cudaError_t const status
        = launchHardSwish(dtype, inputs[0], outputs[0], count, mAlpha, stream);
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
    Problem problem;
    if (!parseFields(fc, alpha, problem))
    {
        report("createPlugin", problem.c_str());
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
    Problem problem;
    if (!readHardSwishRecord(serialData, serialLength, alpha, problem))
    {
        report("deserializePlugin", problem.c_str());
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
