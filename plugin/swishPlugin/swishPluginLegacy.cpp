#include "swishPluginLegacy.h"

#include "pluginLog.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>

// Planted faults of the bad-plugin fixture (plugin/CMakeLists.txt TPB_BAD_PLUGINS: each fixture
// library is built with exactly one; the shipped libswish_plugin.so with none, and then
// SwishPluginLegacy is the shared PluginV2DynamicExtBase<SwishOp> itself). Each is designed to
// trip one conformance check (workflow/trt_plugin_bench/conformance.py) and no other:
//   TPB_BAD_SYNC_IN_ENQUEUE  enqueue synchronizes its stream: not capturable, blocks on a held stream
//                            (check graph_capture); outputs stay right everywhere else.
//   TPB_BAD_GLOBAL_STATE     the "configured" dims live in a process-wide global that an instance
//                            updates when its own input dims change, and enqueue launches with the
//                            global's: one context alone (any shapes, in turn) stays right, contexts at
//                            different shapes side by side compute each other's sizes (multi_profile).
//   TPB_BAD_SHALLOW_CLONE    clone() shares the state enqueue reads; destroying a clone that ran
//                            invalidates it for all of them (beta becomes NaN: a deterministic wrong
//                            output, where a real free would be a use-after-free that may crash
//                            anything later). Only destroying a context while another runs on
//                            (clone_independence) sees it. Clones TensorRT makes and destroys without
//                            running them (the builder, context creation) leave the state alone, so
//                            the fault cannot break the build or the first context.
//   TPB_BAD_INIT_ONLY_REGISTRATION is in api/swishPluginLibrary.cpp (no registration at load).
namespace tpb
{

#if defined(TPB_BAD_SYNC_IN_ENQUEUE) || defined(TPB_BAD_GLOBAL_STATE) || defined(TPB_BAD_SHALLOW_CLONE)
namespace
{
constexpr char const* kWhere = SwishOp::kLegacyWhere;

#ifdef TPB_BAD_GLOBAL_STATE
// Planted fault (the fixture's point): state that must be per instance, kept process-wide.
nvinfer1::Dims gConfiguredDims{};

bool sameDims(nvinfer1::Dims const& a, nvinfer1::Dims const& b) noexcept
{
    return a.nbDims == b.nbDims && std::memcmp(a.d, b.d, sizeof(a.d[0]) * static_cast<size_t>(a.nbDims > 0 ? a.nbDims : 0)) == 0;
}
#endif
} // namespace

SwishPluginLegacy::SwishPluginLegacy(SwishParams const& params)
    : PluginV2DynamicExtBase<SwishOp>(params)
{
#ifdef TPB_BAD_GLOBAL_STATE
    mSeenDims.nbDims = -1;
#endif
#ifdef TPB_BAD_SHALLOW_CLONE
    mShared = std::make_shared<SwishParams>(params);
#endif
}

void SwishPluginLegacy::destroy() noexcept
{
#ifdef TPB_BAD_SHALLOW_CLONE
    // the fixture's lifecycle, for reading what TensorRT clones and destroys (TPB_PLUGIN_DEBUG=1)
    if (std::getenv("TPB_PLUGIN_DEBUG") != nullptr)
    {
        TPB_LOG_WARNING(kWhere, "fixture: destroy %p (enqueued %d, shared %p)", static_cast<void*>(this),
            static_cast<int>(mEnqueued), static_cast<void*>(mShared.get()));
    }
    if (mEnqueued && mShared)
    {
        mShared->beta = std::numeric_limits<float>::quiet_NaN(); // planted fault: "frees" it for every clone
    }
#endif
    delete this;
}

nvinfer1::IPluginV2DynamicExt* SwishPluginLegacy::clone() const noexcept
{
    try
    {
        auto* copy = new SwishPluginLegacy(params());
        copy->setPluginNamespace(pluginNamespace().c_str());
#ifdef TPB_BAD_SHALLOW_CLONE
        copy->mShared = mShared; // planted fault: a shallow copy of owned state
        if (std::getenv("TPB_PLUGIN_DEBUG") != nullptr)
        {
            TPB_LOG_WARNING(kWhere, "fixture: clone %p -> %p (shared %p)", static_cast<void const*>(this),
                static_cast<void*>(copy), static_cast<void*>(mShared.get()));
        }
#endif
        return copy;
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "clone: %s", e.what());
    }
    return nullptr;
}

int32_t SwishPluginLegacy::enqueue(nvinfer1::PluginTensorDesc const* inputDesc,
    nvinfer1::PluginTensorDesc const* outputDesc, void const* const* inputs, void* const* outputs, void* workspace,
    cudaStream_t stream) noexcept
{
    static_cast<void>(outputDesc); // used only where the fault keeps the shared enqueue
    static_cast<void>(workspace);
    if (inputDesc == nullptr || inputs == nullptr || outputs == nullptr)
    {
        TPB_LOG_ERROR(kWhere, "enqueue: null tensor descriptors or pointers");
        return -1;
    }
#ifdef TPB_BAD_SYNC_IN_ENQUEUE
    static_cast<void>(cudaStreamSynchronize(stream)); // planted fault: waits for the stream's earlier work
#endif
#ifdef TPB_BAD_GLOBAL_STATE
    if (!sameDims(inputDesc[0].dims, mSeenDims))
    {
        mSeenDims = inputDesc[0].dims;
        gConfiguredDims = mSeenDims; // planted fault: "configure" into process-wide state
    }
    nvinfer1::PluginTensorDesc configured = inputDesc[0];
    configured.dims = gConfiguredDims;
    return enqueueSwish(configured, inputs[0], outputs[0], params(), stream, kWhere);
#elif defined(TPB_BAD_SHALLOW_CLONE)
    if (!mEnqueued && std::getenv("TPB_PLUGIN_DEBUG") != nullptr)
    {
        TPB_LOG_WARNING(kWhere, "fixture: first enqueue of %p (shared %p)", static_cast<void*>(this),
            static_cast<void*>(mShared.get()));
    }
    mEnqueued = true;
    return enqueueSwish(inputDesc[0], inputs[0], outputs[0], *mShared, stream, kWhere);
#else
    return PluginV2DynamicExtBase<SwishOp>::enqueue(inputDesc, outputDesc, inputs, outputs, workspace, stream);
#endif
}
#else
// The shipped library: the shared plumbing as it is.
template class PluginV2DynamicExtBase<SwishOp>;
#endif

template class PluginV2CreatorBase<SwishOp, SwishPluginLegacy>;

} // namespace tpb
