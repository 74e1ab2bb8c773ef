// Swish as an IPluginV2DynamicExt ("Swish", version "1"), for TensorRT 8.6 up to 11.x.
// IPluginV2DynamicExt is deprecated from TensorRT 10 on; the IPluginV3 version lives in swishPlugin.h.
// The plugin and its creator are the shared PluginV2DynamicExtBase / PluginV2CreatorBase
// (common/pluginV2Base.h) over SwishOp (swishPluginParams.h), instantiated in swishPluginLegacy.cpp.
// Only the bad-plugin fixture builds (TPB_BAD_*, see swishPluginLegacy.cpp) make SwishPluginLegacy a
// class of its own, derived from the shared one, that carries their one planted fault.
#pragma once

#include "NvInferRuntime.h"
#include "pluginV2Base.h"
#include "swishPluginParams.h"

#include <memory>

namespace tpb
{

#if defined(TPB_BAD_SYNC_IN_ENQUEUE) || defined(TPB_BAD_GLOBAL_STATE) || defined(TPB_BAD_SHALLOW_CLONE)
class SwishPluginLegacy : public PluginV2DynamicExtBase<SwishOp>
{
public:
    explicit SwishPluginLegacy(SwishParams const& params);

    void destroy() noexcept override;
    nvinfer1::IPluginV2DynamicExt* clone() const noexcept override;
    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* outputDesc,
        void const* const* inputs, void* const* outputs, void* workspace, cudaStream_t stream) noexcept override;

private:
#ifdef TPB_BAD_GLOBAL_STATE
    nvinfer1::Dims mSeenDims{}; //!< fault fixture: the input dims this instance last enqueued with
#endif
#ifdef TPB_BAD_SHALLOW_CLONE
    std::shared_ptr<SwishParams> mShared; //!< fault fixture: the state enqueue reads, shared by every clone
    bool mEnqueued{false};                //!< fault fixture: this instance ran (a context's clone)
#endif
};
#else
using SwishPluginLegacy = PluginV2DynamicExtBase<SwishOp>;
extern template class PluginV2DynamicExtBase<SwishOp>;
#endif

using SwishPluginLegacyCreator = PluginV2CreatorBase<SwishOp, SwishPluginLegacy>;
extern template class PluginV2CreatorBase<SwishOp, SwishPluginLegacy>;

} // namespace tpb
