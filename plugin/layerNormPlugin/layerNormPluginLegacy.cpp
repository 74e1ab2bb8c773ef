#include "layerNormPluginLegacy.h"

namespace tpb
{

// The one instantiation of the shared V2 plumbing for LayerNorm (LayerNormOp: layerNormPluginParams.{h,cpp}).
template class PluginV2DynamicExtBase<LayerNormOp>;
template class PluginV2CreatorBase<LayerNormOp>;

} // namespace tpb
