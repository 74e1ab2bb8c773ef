#include "swishPlugin.h"

#if NV_TENSORRT_MAJOR >= 10

namespace tpb
{

// The one instantiation of the shared V3 plumbing for Swish (SwishOp: swishPluginParams.{h,cpp}).
template class PluginV3Base<SwishOp>;
template class PluginV3CreatorBase<SwishOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
