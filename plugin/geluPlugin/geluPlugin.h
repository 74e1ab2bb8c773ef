// Gelu as an IPluginV3 ("Gelu", version "2"), TensorRT >= 10 only. With older headers this
// header declares nothing, so it can be included unconditionally. The plumbing is the shared
// PluginV3Base / PluginV3CreatorBase (common/pluginV3Base.h); GeluOp supplies what is Gelu's.
#pragma once

#include "NvInferRuntime.h"

#if NV_TENSORRT_MAJOR >= 10

#include "pluginV3Base.h"
#include "geluPluginParams.h"

namespace tpb
{

//! Gelu's part of the V3 plugin (see pluginV3Base.h for what each member is for).
struct GeluOp
{
    using Params = GeluParams;
    static constexpr char const* kName = kGeluPluginName;
    static constexpr char const* kVersion = kGeluPluginV3Version;
    static constexpr char const* kWhere = "Gelu v2";
    static constexpr char const* kCreateBuildWhere = "Gelu v2 createPlugin (build)";
    static constexpr char const* kCreateRuntimeWhere = "Gelu v2 createPlugin (runtime)";
    static constexpr int32_t kNbInputs = 1;
    static constexpr int32_t kNbOutputs = 1;
    static constexpr int32_t kFieldCount = kGeluFieldCount;
    static constexpr int32_t kMaxBands = kGeluMaxBands;
    static constexpr bool kChecksShapesAtConfigure = false;

    //! Linear layout, fp32/fp16 (bf16 on TensorRT >= 10), output type = input type: geluSupportsCombination.
    static bool supportsCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs,
        int32_t nbOutputs, Params const& params) noexcept;
    //! approximation and kernel: "approximation=a;kernel=k;table=".
    static int writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept;
    //! approximation, kernel, kernel_table (always, length 0 without a table).
    static void serializedFields(Params& params, nvinfer1::PluginField (&fields)[kFieldCount]) noexcept;
    static nvinfer1::PluginField describeField(int32_t index) noexcept;
    static bool parseFields(
        nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where, bool build) noexcept;
    static int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
        void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept;
};

using GeluPlugin = PluginV3Base<GeluOp>;
using GeluPluginCreator = PluginV3CreatorBase<GeluOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
