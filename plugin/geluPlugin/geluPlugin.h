// Gelu as an IPluginV3 ("Gelu", version "2"), TensorRT >= 10 only. With older
// headers this header declares nothing, so it can be included unconditionally. The plugin and its
// creator are the shared PluginV3Base / PluginV3CreatorBase (common/pluginV3Base.h) over GeluOp
// (geluPluginParams.h: what is Gelu's), instantiated in geluPlugin.cpp.
#pragma once

#include "NvInferRuntime.h"

#if NV_TENSORRT_MAJOR >= 10

#include "geluPluginParams.h"
#include "pluginV3Base.h"

namespace tpb
{

using GeluPlugin = PluginV3Base<GeluOp>;
using GeluPluginCreator = PluginV3CreatorBase<GeluOp>;

extern template class PluginV3Base<GeluOp>;
extern template class PluginV3CreatorBase<GeluOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
