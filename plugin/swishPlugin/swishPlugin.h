// Swish as an IPluginV3 ("Swish", version "2"), TensorRT >= 10 only. With older headers this
// header declares nothing, so it can be included unconditionally. The plumbing is the shared
// PluginV3Base / PluginV3CreatorBase (common/pluginV3Base.h); SwishOp supplies what is Swish's.
#pragma once

#include "NvInferRuntime.h"

#if NV_TENSORRT_MAJOR >= 10

#include "pluginV3Base.h"
#include "swishPluginParams.h"

namespace tpb
{

//! Swish's part of the V3 plugin (see pluginV3Base.h for what each member is for).
struct SwishOp
{
    using Params = SwishParams;
    static constexpr char const* kName = kSwishPluginName;
    static constexpr char const* kVersion = kSwishPluginV3Version;
    static constexpr char const* kWhere = "Swish v2";
    static constexpr char const* kCreateBuildWhere = "Swish v2 createPlugin (build)";
    static constexpr char const* kCreateRuntimeWhere = "Swish v2 createPlugin (runtime)";
    static constexpr int32_t kNbInputs = 1;
    static constexpr int32_t kNbOutputs = 1;
    static constexpr int32_t kFieldCount = kSwishFieldCount;
    static constexpr int32_t kMaxBands = kSwishMaxBands;
    static constexpr bool kChecksShapesAtConfigure = false;

    //! Types and the layout (linear, or any with formats = kSwishFormatsAnyLayout): swishSupportsCombination.
    static bool supportsCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs,
        int32_t nbOutputs, Params const& params) noexcept;
    //! beta's bits and kernel: "beta=0x...;kernel=k;table=".
    static int writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept;
    //! beta, kernel, kernel_table (always, length 0 without a table), formats.
    static void serializedFields(Params& params, nvinfer1::PluginField (&fields)[kFieldCount]) noexcept;
    static nvinfer1::PluginField describeField(int32_t index) noexcept;
    static bool parseFields(
        nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where, bool build) noexcept;
    static int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
        void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept;
};

using SwishPlugin = PluginV3Base<SwishOp>;
using SwishPluginCreator = PluginV3CreatorBase<SwishOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
