#include "swishPluginLegacy.h"

#include "pluginLog.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>

// Planted faults of the bad-plugin fixture (plugin/CMakeLists.txt TPB_BAD_PLUGINS: each fixture
// library is built with exactly one; the shipped libswish_plugin.so with none). Each is designed to
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
namespace
{
constexpr char const* kWhere = "Swish v1";

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
    : mParams(params)
{
#ifdef TPB_BAD_GLOBAL_STATE
    mSeenDims.nbDims = -1;
#endif
#ifdef TPB_BAD_SHALLOW_CLONE
    mShared = std::make_shared<SwishParams>(params);
#endif
}

char const* SwishPluginLegacy::getPluginType() const noexcept
{
    return kSwishPluginName;
}

char const* SwishPluginLegacy::getPluginVersion() const noexcept
{
    return kSwishPluginLegacyVersion;
}

int32_t SwishPluginLegacy::getNbOutputs() const noexcept
{
    return 1;
}

int32_t SwishPluginLegacy::initialize() noexcept
{
    return 0;
}

void SwishPluginLegacy::terminate() noexcept {}

size_t SwishPluginLegacy::getSerializationSize() const noexcept
{
    return swishRecordSize(mParams);
}

void SwishPluginLegacy::serialize(void* buffer) const noexcept
{
    // TensorRT provides exactly getSerializationSize() bytes.
    if (!writeSwishRecord(mParams, buffer, swishRecordSize(mParams)))
    {
        TPB_LOG_ERROR(kWhere, "serialize: null buffer");
    }
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

void SwishPluginLegacy::setPluginNamespace(char const* pluginNamespace) noexcept
{
    try
    {
        mNamespace = pluginNamespace != nullptr ? pluginNamespace : "";
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "setPluginNamespace: %s", e.what());
    }
}

char const* SwishPluginLegacy::getPluginNamespace() const noexcept
{
    return mNamespace.c_str();
}

nvinfer1::DataType SwishPluginLegacy::getOutputDataType(
    int32_t index, nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (index != 0 || inputTypes == nullptr || nbInputs != 1)
    {
        TPB_LOG_ERROR(kWhere, "getOutputDataType: expected output 0 of 1 input, got index %d of %d inputs",
            static_cast<int>(index), static_cast<int>(nbInputs));
        return nvinfer1::DataType::kFLOAT;
    }
    return inputTypes[0];
}

nvinfer1::IPluginV2DynamicExt* SwishPluginLegacy::clone() const noexcept
{
    try
    {
        auto* copy = new SwishPluginLegacy(mParams);
        copy->mNamespace = mNamespace;
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

nvinfer1::DimsExprs SwishPluginLegacy::getOutputDimensions(int32_t outputIndex, nvinfer1::DimsExprs const* inputs,
    int32_t nbInputs, nvinfer1::IExprBuilder& /*exprBuilder*/) noexcept
{
    if (outputIndex != 0 || inputs == nullptr || nbInputs != 1)
    {
        TPB_LOG_ERROR(kWhere, "getOutputDimensions: expected output 0 of 1 input, got index %d of %d inputs",
            static_cast<int>(outputIndex), static_cast<int>(nbInputs));
        // nbDims = 0 would be a valid scalar shape and TensorRT would build it; -1 is no shape at
        // all, so TensorRT refuses the network instead.
        nvinfer1::DimsExprs invalid{};
        invalid.nbDims = -1;
        return invalid;
    }
    return inputs[0];
}

bool SwishPluginLegacy::supportsFormatCombination(
    int32_t pos, nvinfer1::PluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    if (inOut == nullptr || nbInputs != 1 || nbOutputs != 1 || pos < 0 || pos >= nbInputs + nbOutputs)
    {
        return false;
    }
    return swishSupportsCombination(pos, nbInputs, nbOutputs, inOut[pos].format, inOut[pos].type, inOut[0].type,
        inOut[0].format, inOut[pos].dims.nbDims, mParams.formats);
}

void SwishPluginLegacy::configurePlugin(nvinfer1::DynamicPluginTensorDesc const* /*in*/, int32_t nbInputs,
    nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept
{
    // Nothing depends on shapes or types ahead of enqueue; only sanity-check the arity.
    if (nbInputs != 1 || nbOutputs != 1)
    {
        TPB_LOG_ERROR(kWhere, "configurePlugin: expected 1 input and 1 output, got %d and %d",
            static_cast<int>(nbInputs), static_cast<int>(nbOutputs));
    }
}

size_t SwishPluginLegacy::getWorkspaceSize(nvinfer1::PluginTensorDesc const* /*inputs*/, int32_t /*nbInputs*/,
    nvinfer1::PluginTensorDesc const* /*outputs*/, int32_t /*nbOutputs*/) const noexcept
{
    return 0;
}

int32_t SwishPluginLegacy::enqueue(nvinfer1::PluginTensorDesc const* inputDesc,
    nvinfer1::PluginTensorDesc const* /*outputDesc*/, void const* const* inputs, void* const* outputs,
    void* /*workspace*/, cudaStream_t stream) noexcept
{
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
    return enqueueSwish(configured, inputs[0], outputs[0], mParams, stream, kWhere);
#elif defined(TPB_BAD_SHALLOW_CLONE)
    if (!mEnqueued && std::getenv("TPB_PLUGIN_DEBUG") != nullptr)
    {
        TPB_LOG_WARNING(kWhere, "fixture: first enqueue of %p (shared %p)", static_cast<void*>(this),
            static_cast<void*>(mShared.get()));
    }
    mEnqueued = true;
    return enqueueSwish(inputDesc[0], inputs[0], outputs[0], *mShared, stream, kWhere);
#else
    return enqueueSwish(inputDesc[0], inputs[0], outputs[0], mParams, stream, kWhere);
#endif
}

SwishPluginLegacyCreator::SwishPluginLegacyCreator()
{
    for (int32_t i = 0; i < kSwishFieldCount; ++i)
    {
        mFieldDescriptions[i] = describeSwishField(i);
    }
    mFieldCollection.nbFields = kSwishFieldCount;
    mFieldCollection.fields = mFieldDescriptions;
}

char const* SwishPluginLegacyCreator::getPluginName() const noexcept
{
    return kSwishPluginName;
}

char const* SwishPluginLegacyCreator::getPluginVersion() const noexcept
{
    return kSwishPluginLegacyVersion;
}

nvinfer1::PluginFieldCollection const* SwishPluginLegacyCreator::getFieldNames() noexcept
{
    return &mFieldCollection;
}

nvinfer1::IPluginV2* SwishPluginLegacyCreator::createPlugin(
    char const* /*name*/, nvinfer1::PluginFieldCollection const* fc) noexcept
{
    try
    {
        SwishParams params;
        if (!parseSwishFields(fc, params, "Swish v1 createPlugin", SwishFieldPolicy::kDEFAULTS_ALLOWED))
        {
            return nullptr;
        }
        auto* plugin = new SwishPluginLegacy(params);
        plugin->setPluginNamespace(mNamespace.get());
        return plugin;
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "createPlugin: %s", e.what());
    }
    return nullptr;
}

nvinfer1::IPluginV2* SwishPluginLegacyCreator::deserializePlugin(
    char const* /*name*/, void const* serialData, size_t serialLength) noexcept
{
    try
    {
        SwishParams params;
        if (!readSwishRecord(serialData, serialLength, params, "Swish v1 deserializePlugin"))
        {
            return nullptr;
        }
        auto* plugin = new SwishPluginLegacy(params);
        plugin->setPluginNamespace(mNamespace.get());
        return plugin;
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "deserializePlugin: %s", e.what());
    }
    return nullptr;
}

void SwishPluginLegacyCreator::setPluginNamespace(char const* pluginNamespace) noexcept
{
    if (!mNamespace.set(pluginNamespace))
    {
        TPB_LOG_ERROR(kWhere, "setPluginNamespace: could not store the namespace (out of memory)");
    }
}

char const* SwishPluginLegacyCreator::getPluginNamespace() const noexcept
{
    return mNamespace.get();
}

} // namespace tpb
