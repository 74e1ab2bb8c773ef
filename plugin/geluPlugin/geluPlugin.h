// Gelu as an IPluginV3 ("Gelu", version "2"), TensorRT >= 10 only. With older headers this
// header declares nothing, so it can be included unconditionally.
#pragma once

#include "NvInferRuntime.h"

#if NV_TENSORRT_MAJOR >= 10

#include "creatorNamespace.h"
#include "geluPluginParams.h"

#include <string>

namespace tpb
{

class GeluPlugin : public nvinfer1::IPluginV3,
                    public nvinfer1::IPluginV3OneCore,
                    public nvinfer1::IPluginV3OneBuild,
                    public nvinfer1::IPluginV3OneRuntime
{
public:
    GeluPlugin(GeluParams const& params, char const* pluginNamespace);

    GeluPlugin(GeluPlugin const&) = delete;
    GeluPlugin& operator=(GeluPlugin const&) = delete;
    ~GeluPlugin() override = default;

    // IPluginV3
    nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override;
    nvinfer1::IPluginV3* clone() noexcept override;

    // IPluginV3OneCore
    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    char const* getPluginNamespace() const noexcept override;

    // IPluginV3OneBuild
    int32_t configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
        nvinfer1::DynamicPluginTensorDesc const* out, int32_t nbOutputs) noexcept override;
    int32_t getOutputDataTypes(nvinfer1::DataType* outputTypes, int32_t nbOutputs,
        nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept override;
    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const* shapeInputs,
        int32_t nbShapeInputs, nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
        nvinfer1::IExprBuilder& exprBuilder) noexcept override;
    bool supportsFormatCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs,
        int32_t nbOutputs) noexcept override;
    int32_t getNbOutputs() const noexcept override;
    size_t getWorkspaceSize(nvinfer1::DynamicPluginTensorDesc const* inputs, int32_t nbInputs,
        nvinfer1::DynamicPluginTensorDesc const* outputs, int32_t nbOutputs) const noexcept override;
    //! With a kernel table, tactic 1 ("apply the table") and k + 2 for each distinct kernel k in it,
    //! so TensorRT's own timing can pick; none without a table (the "kernel" field wins, untimed).
    int32_t getValidTactics(int32_t* tactics, int32_t nbTactics) noexcept override;
    int32_t getNbTactics() noexcept override;
    //! approximation, kernel and table: the attributes that decide what a timing measured.
    char const* getTimingCacheID() noexcept override;

    // IPluginV3OneRuntime
    //! 0 (TensorRT's default) or an advertised tactic; anything else is refused (non-zero, logged).
    int32_t setTactic(int32_t tactic) noexcept override;
    int32_t onShapeChange(nvinfer1::PluginTensorDesc const* in, int32_t nbInputs, nvinfer1::PluginTensorDesc const* out,
        int32_t nbOutputs) noexcept override;
    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* outputDesc,
        void const* const* inputs, void* const* outputs, void* workspace, cudaStream_t stream) noexcept override;
    nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext* context) noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldsToSerialize() noexcept override;

private:
    //! What enqueue launches under mTactic: mParams (table or kernel) for 0 and 1, else one kernel.
    GeluParams launchParams() const noexcept;

    GeluParams mParams;
    std::string mNamespace;
    int32_t mTactic{0}; // set by setTactic (build-time timing, then the chosen one at run time)
    GeluParams mLaunch; // launchParams() for mTactic, derived once in setTactic, not on every enqueue
    // Storage for getTimingCacheID(): the returned pointer must outlive the call.
    std::string mTimingCacheId;
    // Storage for getFieldsToSerialize(); the fields point into mParams, so the collection stays
    // valid as long as this object does.
    nvinfer1::PluginField mSerializedFields[kGeluFieldCount];
    nvinfer1::PluginFieldCollection mSerializedFieldCollection{};
};

class GeluPluginCreator : public nvinfer1::IPluginCreatorV3One
{
public:
    GeluPluginCreator();

    nvinfer1::IPluginV3* createPlugin(
        char const* name, nvinfer1::PluginFieldCollection const* fc, nvinfer1::TensorRTPhase phase) noexcept override;
    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override;
    char const* getPluginName() const noexcept override;
    char const* getPluginVersion() const noexcept override;
    char const* getPluginNamespace() const noexcept override;

    //! Not part of IPluginCreatorV3One: set before registration; plugins created later inherit it.
    void setPluginNamespace(char const* pluginNamespace) noexcept;

    //! The namespace storage the library's registration sets (creatorNamespace.h: safe from any thread;
    //! getPluginNamespace's pointer stays valid as long as the creator).
    CreatorNamespace& namespaceSlot() noexcept
    {
        return mNamespace;
    }

private:
    nvinfer1::PluginField mFieldDescriptions[kGeluFieldCount];
    nvinfer1::PluginFieldCollection mFieldCollection{};
    CreatorNamespace mNamespace;
};

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
