#include "residualRmsNormPluginLegacy.h"

namespace tpb
{

// The one instantiation of the shared V2 plumbing for ResidualRmsNorm (ResidualRmsNormOp: residualRmsNormPluginParams.{h,cpp}).
template class PluginV2DynamicExtBase<ResidualRmsNormOp>;
template class PluginV2CreatorBase<ResidualRmsNormOp>;

} // namespace tpb
