// Gelu as an IPluginV2DynamicExt ("Gelu", version "1"), for TensorRT 8.6 up to 11.x.
// IPluginV2DynamicExt is deprecated from TensorRT 10 on; the IPluginV3 version lives in geluPlugin.h.
// The plugin and its creator are the shared PluginV2DynamicExtBase / PluginV2CreatorBase
// (common/pluginV2Base.h) over GeluOp (geluPluginParams.h), instantiated in geluPluginLegacy.cpp.
#pragma once

#include "NvInferRuntime.h"
#include "pluginV2Base.h"
#include "geluPluginParams.h"

namespace tpb
{

using GeluPluginLegacy = PluginV2DynamicExtBase<GeluOp>;
using GeluPluginLegacyCreator = PluginV2CreatorBase<GeluOp>;

extern template class PluginV2DynamicExtBase<GeluOp>;
extern template class PluginV2CreatorBase<GeluOp>;

} // namespace tpb
