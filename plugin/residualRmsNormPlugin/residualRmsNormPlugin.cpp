#include "residualRmsNormPlugin.h"

#if NV_TENSORRT_MAJOR >= 10

namespace tpb
{

// The one instantiation of the shared V3 plumbing for ResidualRmsNorm (ResidualRmsNormOp: residualRmsNormPluginParams.{h,cpp}).
template class PluginV3Base<ResidualRmsNormOp>;
template class PluginV3CreatorBase<ResidualRmsNormOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
