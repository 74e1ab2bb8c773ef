#include "geluPluginLegacy.h"

namespace tpb
{

// The one instantiation of the shared V2 plumbing for Gelu (GeluOp: geluPluginParams.{h,cpp}).
template class PluginV2DynamicExtBase<GeluOp>;
template class PluginV2CreatorBase<GeluOp>;

} // namespace tpb
