// LayerNorm as an IPluginV2DynamicExt ("TpbLayerNorm", version "1"): what TensorRT 8.6 runs.
// Inputs (x, gamma, beta), output y (layerNormPluginParams.h). The IPluginV3 version: layerNormPlugin.h.
// The plugin and its creator are the shared PluginV2DynamicExtBase / PluginV2CreatorBase
// (common/pluginV2Base.h) over LayerNormOp (layerNormPluginParams.h), instantiated in layerNormPluginLegacy.cpp.
#pragma once

#include "NvInferRuntime.h"
#include "pluginV2Base.h"
#include "layerNormPluginParams.h"

namespace tpb
{

using LayerNormPluginLegacy = PluginV2DynamicExtBase<LayerNormOp>;
using LayerNormPluginLegacyCreator = PluginV2CreatorBase<LayerNormOp>;

extern template class PluginV2DynamicExtBase<LayerNormOp>;
extern template class PluginV2CreatorBase<LayerNormOp>;

} // namespace tpb
