// Pieces shared by the IPluginV2DynamicExt and IPluginV3 LayerNorm plugins (one body for both
// versions): what is LayerNorm's own. The fields ("eps", "kernel", "kernel_table") and their strict
// validation, the kernel choice table, the serialised record (magic, version, CRC-32:
// plugin/common/pluginRecord.h), type mapping and supportsFormatCombination are the row norms' one body,
// common/rowNormParams.h, over LayerNormTraits; here the shape check and the enqueue body.
//
// Inputs (x, gamma, beta), output y: x of any rank >= 1, normalised over its last dimension (hidden);
// gamma and beta hold hidden elements each (the spec's weights, TensorRT constants of shape [hidden]
// appended after x); every tensor linear and of x's type.
#pragma once

#include "NvInferRuntime.h"
#include "rowNormParams.h"
#include "layerNormKernel.h"

#include <cstdint>

namespace tpb
{

//! LayerNorm's constants for the row norms' shared body (common/rowNormParams.h lists what each means).
struct LayerNormTraits
{
    static constexpr char const* kName = "TpbLayerNorm";
    static constexpr char const* kVersion = "2";       // IPluginV3
    static constexpr char const* kLegacyVersion = "1"; // IPluginV2DynamicExt
    static constexpr int32_t kNbInputs = 3;            // x, gamma, beta
    static constexpr int32_t kNbOutputs = 1;           // y
    using Kernel = LayerNormKernel;
    static constexpr int32_t kKernelCount = kLayerNormKernelCount;
    static bool isValidKernel(int32_t kernel) noexcept
    {
        return isValidLayerNormKernel(kernel);
    }
    static constexpr float kDefaultEps = 1.0e-5F;
    static constexpr int32_t kDefaultKernel = kLayerNormDefaultKernelId;
    //! Record: magic 0x4E4C5054 (bytes "TPLN"), version 1 (layout: RowNormParams).
    static constexpr uint32_t kRecordMagic = 0x4E4C5054U;
    static constexpr uint32_t kRecordVersion = 1;
    static constexpr char const* kRecordOwner = "TpbLayerNorm plugin";
};

using LayerNormParams = RowNormParams<LayerNormTraits>;
extern template struct RowNormOpBase<LayerNormTraits>; // instantiated in layerNormPluginParams.cpp

//! LayerNorm's part of the plugin plumbing both versions share (common/pluginV3Base.h: PluginV3Base<LayerNormOp>,
//! common/pluginV2Base.h: PluginV2DynamicExtBase<LayerNormOp>): the row norms' shared members
//! (RowNormOpBase) and LayerNorm's own contract.
struct LayerNormOp : RowNormOpBase<LayerNormTraits>
{
    TPB_ROW_NORM_OP_MEMBERS; // kWhere, checkShapes, enqueue: layerNormPluginParams.cpp
};

} // namespace tpb
