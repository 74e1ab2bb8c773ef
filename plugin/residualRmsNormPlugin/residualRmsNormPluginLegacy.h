// Residual-add + RMSNorm as an IPluginV2DynamicExt ("TpbResidualRmsNorm", version "1"): what TensorRT 8.6
// runs. Inputs (x, r, gamma), outputs (y, h) (residualRmsNormPluginParams.h). The IPluginV3 version: residualRmsNormPlugin.h.
// The plugin and its creator are the shared PluginV2DynamicExtBase / PluginV2CreatorBase
// (common/pluginV2Base.h) over ResidualRmsNormOp (residualRmsNormPluginParams.h), instantiated in residualRmsNormPluginLegacy.cpp.
#pragma once

#include "NvInferRuntime.h"
#include "pluginV2Base.h"
#include "residualRmsNormPluginParams.h"

namespace tpb
{

using ResidualRmsNormPluginLegacy = PluginV2DynamicExtBase<ResidualRmsNormOp>;
using ResidualRmsNormPluginLegacyCreator = PluginV2CreatorBase<ResidualRmsNormOp>;

extern template class PluginV2DynamicExtBase<ResidualRmsNormOp>;
extern template class PluginV2CreatorBase<ResidualRmsNormOp>;

} // namespace tpb
