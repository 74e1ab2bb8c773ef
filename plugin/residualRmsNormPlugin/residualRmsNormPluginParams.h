// Pieces shared by the IPluginV2DynamicExt and IPluginV3 residual-add + RMSNorm plugins (one body for both
// versions): what is the residual-add + RMSNorm's own. The fields ("eps", "kernel", "kernel_table") and their
// strict validation, the kernel choice table, the serialised record (magic, version, CRC-32:
// plugin/common/pluginRecord.h), type mapping and supportsFormatCombination are the row norms' one body,
// common/rowNormParams.h, over ResidualRmsNormTraits; here the shape check and the enqueue body.
//
// Inputs (x, r, gamma), outputs (y, h): h = x + r, y = h / sqrt(mean(h^2) + eps) * gamma over the last
// dimension (hidden); x and r of one shape, any rank >= 1; gamma of hidden elements (the spec's weight, a
// TensorRT constant of shape [hidden] appended after x and r); every tensor linear and of x's type.
#pragma once

#include "NvInferRuntime.h"
#include "rowNormParams.h"
#include "residualRmsNormKernel.h"

#include <cstdint>

namespace tpb
{

//! The residual-add + RMSNorm's constants for the row norms' shared body (common/rowNormParams.h lists them).
struct ResidualRmsNormTraits
{
    static constexpr char const* kName = "TpbResidualRmsNorm";
    static constexpr char const* kVersion = "2";       // IPluginV3
    static constexpr char const* kLegacyVersion = "1"; // IPluginV2DynamicExt
    static constexpr int32_t kNbInputs = 3;            // x, r, gamma
    static constexpr int32_t kNbOutputs = 2;           // y, h
    using Kernel = ResidualRmsNormKernel;
    static constexpr int32_t kKernelCount = kResidualRmsNormKernelCount;
    static bool isValidKernel(int32_t kernel) noexcept
    {
        return isValidResidualRmsNormKernel(kernel);
    }
    static constexpr float kDefaultEps = 1.0e-6F;
    static constexpr int32_t kDefaultKernel = kResidualRmsNormDefaultKernelId;
    //! Record: magic 0x4E525054 (bytes "TPRN"), version 1 (layout: RowNormParams).
    static constexpr uint32_t kRecordMagic = 0x4E525054U;
    static constexpr uint32_t kRecordVersion = 1;
    static constexpr char const* kRecordOwner = "TpbResidualRmsNorm plugin";
};

using ResidualRmsNormParams = RowNormParams<ResidualRmsNormTraits>;
extern template struct RowNormOpBase<ResidualRmsNormTraits>; // instantiated in residualRmsNormPluginParams.cpp

//! The residual-add + RMSNorm's part of the plugin plumbing both versions share (common/pluginV3Base.h:
//! PluginV3Base<ResidualRmsNormOp>, common/pluginV2Base.h: PluginV2DynamicExtBase<ResidualRmsNormOp>): the
//! row norms' shared members (RowNormOpBase) and its own contract.
struct ResidualRmsNormOp : RowNormOpBase<ResidualRmsNormTraits>
{
    TPB_ROW_NORM_OP_MEMBERS; // kWhere, checkShapes, enqueue: residualRmsNormPluginParams.cpp
};

} // namespace tpb
