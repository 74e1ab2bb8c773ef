#include "swishPluginLegacy.h"

namespace tpb
{

// The shared V2 plumbing over SwishOp, instantiated once for libswish_plugin.so.
template class PluginV2DynamicExtBase<SwishOp>;
template class PluginV2CreatorBase<SwishOp, SwishPluginLegacy>;

} // namespace tpb
