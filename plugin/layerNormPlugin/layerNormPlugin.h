// LayerNorm as an IPluginV3 ("TpbLayerNorm", version "2"), TensorRT >= 10 only. With older headers this
// header declares nothing, so it can be included unconditionally. The plumbing is the shared
// PluginV3Base / PluginV3CreatorBase (common/pluginV3Base.h); LayerNormOp supplies what is LayerNorm's.
#pragma once

#include "NvInferRuntime.h"

#if NV_TENSORRT_MAJOR >= 10

#include "layerNormPluginParams.h"
#include "pluginV3Base.h"

namespace tpb
{

//! LayerNorm's part of the V3 plugin (see pluginV3Base.h for what each member is for).
struct LayerNormOp
{
    using Params = LayerNormParams;
    static constexpr char const* kName = kLayerNormPluginName;
    static constexpr char const* kVersion = kLayerNormPluginV3Version;
    static constexpr char const* kWhere = "TpbLayerNorm v2";
    static constexpr char const* kCreateBuildWhere = "TpbLayerNorm v2 createPlugin (build)";
    static constexpr char const* kCreateRuntimeWhere = "TpbLayerNorm v2 createPlugin (runtime)";
    static constexpr char const* kConfigureWhere = "TpbLayerNorm v2 configurePlugin";
    static constexpr int32_t kNbInputs = kLayerNormNbInputs;
    static constexpr int32_t kNbOutputs = kLayerNormNbOutputs;
    static constexpr int32_t kFieldCount = kLayerNormFieldCount;
    static constexpr int32_t kMaxBands = kLayerNormMaxBands;
    static constexpr bool kChecksShapesAtConfigure = true;

    //! checkLayerNormShapes: the inputs' shapes agree (at configure time).
    static bool checkShapes(nvinfer1::Dims const* dims, int32_t nbInputs, char const* where) noexcept;
    //! layerNormSupportsCombination.
    static bool supportsCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs,
        int32_t nbOutputs, Params const& params) noexcept;
    //! eps's bits and kernel: "eps=0x...;kernel=k;table=".
    static int writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept;
    //! layerNormSerializedFields.
    static void serializedFields(Params& params, nvinfer1::PluginField (&fields)[kFieldCount]) noexcept;
    static nvinfer1::PluginField describeField(int32_t index) noexcept;
    static bool parseFields(
        nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where, bool build) noexcept;
    static int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
        void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept;
};

using LayerNormPlugin = PluginV3Base<LayerNormOp>;
using LayerNormPluginCreator = PluginV3CreatorBase<LayerNormOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
