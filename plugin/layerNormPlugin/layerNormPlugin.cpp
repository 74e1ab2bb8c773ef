#include "layerNormPlugin.h"

#if NV_TENSORRT_MAJOR >= 10

namespace tpb
{

// The one instantiation of the shared V3 plumbing for LayerNorm (LayerNormOp: layerNormPluginParams.{h,cpp}).
template class PluginV3Base<LayerNormOp>;
template class PluginV3CreatorBase<LayerNormOp>;

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
