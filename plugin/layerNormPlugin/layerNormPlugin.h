// LayerNorm as an IPluginV3 ("TpbLayerNorm", version "2"), TensorRT >= 10 only. With older
// headers this header declares nothing, so it can be included unconditionally. The plugin and its
// creator are the shared PluginV3Base / PluginV3CreatorBase (common/pluginV3Base.h) over LayerNormOp
// (layerNormPluginParams.h: what is LayerNorm's), instantiated in layerNormPlugin.cpp.
#pragma once

#include "NvInferRuntime.h"

#if NV_TENSORRT_MAJOR >= 10

#include "layerNormPluginParams.h"
#include "pluginV3Base.h"

namespace tpb
{

using LayerNormPlugin = PluginV3Base<LayerNormOp>;
using LayerNormPluginCreator = PluginV3CreatorBase<LayerNormOp>;

extern template class PluginV3Base<LayerNormOp>;
extern template class PluginV3CreatorBase<LayerNormOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
