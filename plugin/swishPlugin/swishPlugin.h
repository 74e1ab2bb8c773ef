// Swish as an IPluginV3 ("Swish", version "2"), TensorRT >= 10 only. With older
// headers this header declares nothing, so it can be included unconditionally. The plugin and its
// creator are the shared PluginV3Base / PluginV3CreatorBase (common/pluginV3Base.h) over SwishOp
// (swishPluginParams.h: what is Swish's), instantiated in swishPlugin.cpp.
#pragma once

#include "NvInferRuntime.h"

#if NV_TENSORRT_MAJOR >= 10

#include "swishPluginParams.h"
#include "pluginV3Base.h"

namespace tpb
{

using SwishPlugin = PluginV3Base<SwishOp>;
using SwishPluginCreator = PluginV3CreatorBase<SwishOp>;

extern template class PluginV3Base<SwishOp>;
extern template class PluginV3CreatorBase<SwishOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
