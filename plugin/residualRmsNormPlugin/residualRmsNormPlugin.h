// Residual-add + RMSNorm as an IPluginV3 ("TpbResidualRmsNorm", version "2"), TensorRT >= 10 only. With older
// headers this header declares nothing, so it can be included unconditionally. The plugin and its
// creator are the shared PluginV3Base / PluginV3CreatorBase (common/pluginV3Base.h) over ResidualRmsNormOp
// (residualRmsNormPluginParams.h: what is ResidualRmsNorm's), instantiated in residualRmsNormPlugin.cpp.
#pragma once

#include "NvInferRuntime.h"

#if NV_TENSORRT_MAJOR >= 10

#include "residualRmsNormPluginParams.h"
#include "pluginV3Base.h"

namespace tpb
{

using ResidualRmsNormPlugin = PluginV3Base<ResidualRmsNormOp>;
using ResidualRmsNormPluginCreator = PluginV3CreatorBase<ResidualRmsNormOp>;

extern template class PluginV3Base<ResidualRmsNormOp>;
extern template class PluginV3CreatorBase<ResidualRmsNormOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
