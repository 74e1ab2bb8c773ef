// Residual-add + RMSNorm as an IPluginV3 ("TpbResidualRmsNorm", version "2"), TensorRT >= 10 only. With older headers this
// header declares nothing, so it can be included unconditionally. The plumbing is the shared
// PluginV3Base / PluginV3CreatorBase (common/pluginV3Base.h); ResidualRmsNormOp supplies what is ResidualRmsNorm's.
#pragma once

#include "NvInferRuntime.h"

#if NV_TENSORRT_MAJOR >= 10

#include "residualRmsNormPluginParams.h"
#include "pluginV3Base.h"

namespace tpb
{

//! ResidualRmsNorm's part of the V3 plugin (see pluginV3Base.h for what each member is for).
struct ResidualRmsNormOp
{
    using Params = ResidualRmsNormParams;
    static constexpr char const* kName = kResidualRmsNormPluginName;
    static constexpr char const* kVersion = kResidualRmsNormPluginV3Version;
    static constexpr char const* kWhere = "TpbResidualRmsNorm v2";
    static constexpr char const* kCreateBuildWhere = "TpbResidualRmsNorm v2 createPlugin (build)";
    static constexpr char const* kCreateRuntimeWhere = "TpbResidualRmsNorm v2 createPlugin (runtime)";
    static constexpr char const* kConfigureWhere = "TpbResidualRmsNorm v2 configurePlugin";
    static constexpr int32_t kNbInputs = kResidualRmsNormNbInputs;
    static constexpr int32_t kNbOutputs = kResidualRmsNormNbOutputs;
    static constexpr int32_t kFieldCount = kResidualRmsNormFieldCount;
    static constexpr int32_t kMaxBands = kResidualRmsNormMaxBands;
    static constexpr bool kChecksShapesAtConfigure = true;

    //! checkResidualRmsNormShapes: the inputs' shapes agree (at configure time).
    static bool checkShapes(nvinfer1::Dims const* dims, int32_t nbInputs, char const* where) noexcept;
    //! residualRmsNormSupportsCombination.
    static bool supportsCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs,
        int32_t nbOutputs, Params const& params) noexcept;
    //! eps's bits and kernel: "eps=0x...;kernel=k;table=".
    static int writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept;
    //! residualRmsNormSerializedFields.
    static void serializedFields(Params& params, nvinfer1::PluginField (&fields)[kFieldCount]) noexcept;
    static nvinfer1::PluginField describeField(int32_t index) noexcept;
    static bool parseFields(
        nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where, bool build) noexcept;
    static int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
        void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept;
};

using ResidualRmsNormPlugin = PluginV3Base<ResidualRmsNormOp>;
using ResidualRmsNormPluginCreator = PluginV3CreatorBase<ResidualRmsNormOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
