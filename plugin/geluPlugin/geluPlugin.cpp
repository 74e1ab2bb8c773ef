#include "geluPlugin.h"

#if NV_TENSORRT_MAJOR >= 10

namespace tpb
{

// The one instantiation of the shared V3 plumbing for Gelu (GeluOp: geluPluginParams.{h,cpp}).
template class PluginV3Base<GeluOp>;
template class PluginV3CreatorBase<GeluOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
