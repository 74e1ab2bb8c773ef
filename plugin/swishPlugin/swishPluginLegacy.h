// Swish as an IPluginV2DynamicExt ("Swish", version "1"), for TensorRT 8.6 up to 11.x.
// IPluginV2DynamicExt is deprecated from TensorRT 10 on; the IPluginV3 version lives in swishPlugin.h.
// The plugin and its creator are the shared PluginV2DynamicExtBase / PluginV2CreatorBase
// (common/pluginV2Base.h) over SwishOp (swishPluginParams.h), instantiated in swishPluginLegacy.cpp.
#pragma once

#include "NvInferRuntime.h"
#include "pluginV2Base.h"
#include "swishPluginParams.h"

namespace tpb
{

using SwishPluginLegacy = PluginV2DynamicExtBase<SwishOp>;
using SwishPluginLegacyCreator = PluginV2CreatorBase<SwishOp, SwishPluginLegacy>;

extern template class PluginV2DynamicExtBase<SwishOp>;
extern template class PluginV2CreatorBase<SwishOp, SwishPluginLegacy>;

} // namespace tpb
