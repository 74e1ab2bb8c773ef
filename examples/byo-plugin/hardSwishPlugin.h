// Hard-swish as a TensorRT IPluginV2DynamicExt (TensorRT 8.6 to 11): y = alpha * x * clamp(x + 3, 0, 6) / 6,
// fp32 or fp16 in and out (the same type), linear format, any rank. One attribute, the PluginField
// "alpha" (kFLOAT32, 1 value, default 1.0), scales the output; it is the plugin's whole state. Its
// serialization is a 20-byte record with magic, version, length and a CRC-32 (hardSwishCore.h, where the
// field parsing and the element count live too, free of TensorRT so they can be
// tested without it). The kernel is hardSwishKernel.cu; the creator is registered in one place,
// hardSwishLibrary.cpp.
#pragma once

#include "NvInferRuntime.h"
#include "hardSwishCore.h"

#include <string>

namespace byo
{

constexpr char kHardSwishName[] = "HardSwish";
constexpr char kHardSwishVersion[] = "1";

class HardSwishPlugin final : public nvinfer1::IPluginV2DynamicExt
{
public:
    explicit HardSwishPlugin(float alpha) noexcept;

    // IPluginV2
    char const* getPluginType() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    int32_t getNbOutputs() const noexcept override;
    int32_t initialize() noexcept override;
    void terminate() noexcept override;
    size_t getSerializationSize() const noexcept override;
    void serialize(void* buffer) const noexcept override;
    void destroy() noexcept override;
    void setPluginNamespace(char const* pluginNamespace) noexcept override;
    char const* getPluginNamespace() const noexcept override;

    // IPluginV2Ext
    nvinfer1::DataType getOutputDataType(
        int32_t index, nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept override;

    // IPluginV2DynamicExt
    nvinfer1::IPluginV2DynamicExt* clone() const noexcept override;
    nvinfer1::DimsExprs getOutputDimensions(int32_t outputIndex, nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
        nvinfer1::IExprBuilder& exprBuilder) noexcept override;
    bool supportsFormatCombination(
        int32_t pos, nvinfer1::PluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept override;
    void configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
        nvinfer1::DynamicPluginTensorDesc const* out, int32_t nbOutputs) noexcept override;
    size_t getWorkspaceSize(nvinfer1::PluginTensorDesc const* inputs, int32_t nbInputs,
        nvinfer1::PluginTensorDesc const* outputs, int32_t nbOutputs) const noexcept override;
    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* outputDesc,
        void const* const* inputs, void* const* outputs, void* workspace, cudaStream_t stream) noexcept override;

private:
    float mAlpha;
    std::string mNamespace;
};

class HardSwishPluginCreator final : public nvinfer1::IPluginCreator
{
public:
    HardSwishPluginCreator() noexcept;

    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override;
    nvinfer1::IPluginV2* createPlugin(char const* name, nvinfer1::PluginFieldCollection const* fc) noexcept override;
    nvinfer1::IPluginV2* deserializePlugin(
        char const* name, void const* serialData, size_t serialLength) noexcept override;
    void setPluginNamespace(char const* pluginNamespace) noexcept override;
    char const* getPluginNamespace() const noexcept override;

private:
    nvinfer1::PluginField mField;
    nvinfer1::PluginFieldCollection mFields{};
    std::string mNamespace;
};

} // namespace byo
