// LayerNorm as an IPluginV2DynamicExt ("TpbLayerNorm", version "1"): what TensorRT 8.6 runs.
// Inputs (x, gamma, beta), output y (layerNormPluginParams.h). The IPluginV3 version: layerNormPlugin.h.
#pragma once

#include "NvInferRuntime.h"
#include "creatorNamespace.h"
#include "layerNormPluginParams.h"

#include <string>

namespace tpb
{

class LayerNormPluginLegacy : public nvinfer1::IPluginV2DynamicExt
{
public:
    explicit LayerNormPluginLegacy(LayerNormParams const& params);

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
    LayerNormParams mParams;
    std::string mNamespace;
};

class LayerNormPluginLegacyCreator : public nvinfer1::IPluginCreator
{
public:
    LayerNormPluginLegacyCreator();

    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override;
    nvinfer1::IPluginV2* createPlugin(char const* name, nvinfer1::PluginFieldCollection const* fc) noexcept override;
    nvinfer1::IPluginV2* deserializePlugin(
        char const* name, void const* serialData, size_t serialLength) noexcept override;
    void setPluginNamespace(char const* pluginNamespace) noexcept override;
    char const* getPluginNamespace() const noexcept override;

    CreatorNamespace& namespaceSlot() noexcept
    {
        return mNamespace;
    }

private:
    nvinfer1::PluginField mFieldDescriptions[kLayerNormFieldCount];
    nvinfer1::PluginFieldCollection mFieldCollection{};
    CreatorNamespace mNamespace;
};

} // namespace tpb
