#include "swishPlugin.h"

#if NV_TENSORRT_MAJOR >= 10

#include "pluginLog.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <exception>

namespace tpb
{
namespace
{
constexpr char const* kWhere = "Swish v2";

// Tactic values. 0 is TensorRT's default tactic (never advertised, always accepted): the params as
// given. 1 applies the table; k + 2 runs kernel k at every size.
constexpr int32_t kTacticTable = 1;
constexpr int32_t kTacticKernelBase = 2;
constexpr int32_t kMaxTactics = 1 + kSwishMaxBands;

//! The tactics to advertise for \p params, written to \p tactics (room for kMaxTactics); returns
//! how many. None without a table: an explicit kernel is what the user asked for, so nothing to time.
int32_t swishTactics(SwishParams const& params, int32_t (&tactics)[kMaxTactics]) noexcept
{
    int32_t const bands = std::min(params.bandCount, kSwishMaxBands);
    if (bands <= 0)
    {
        return 0;
    }
    int32_t count = 0;
    tactics[count++] = kTacticTable;
    for (int32_t band = 0; band < bands; ++band)
    {
        int32_t const tactic = params.table[2 * band + 1] + kTacticKernelBase;
        // Tactic values must be unique: a kernel used by several bands is advertised once.
        if (std::find(tactics, tactics + count, tactic) == tactics + count)
        {
            tactics[count++] = tactic;
        }
    }
    return count;
}
} // namespace

SwishPlugin::SwishPlugin(SwishParams const& params, char const* pluginNamespace)
    : mParams(params)
    , mNamespace(pluginNamespace != nullptr ? pluginNamespace : "")
    , mLaunch(params)
{
}

nvinfer1::IPluginCapability* SwishPlugin::getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept
{
    switch (type)
    {
    case nvinfer1::PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
    case nvinfer1::PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
    case nvinfer1::PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
    }
    TPB_LOG_ERROR(kWhere, "getCapabilityInterface: unknown capability %d", static_cast<int>(type));
    return nullptr;
}

nvinfer1::IPluginV3* SwishPlugin::clone() noexcept
{
    try
    {
        auto* copy = new SwishPlugin(mParams, mNamespace.c_str());
        copy->mTactic = mTactic; // a context's clone must run the tactic the engine chose
        copy->mLaunch = mLaunch;
        return copy;
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "clone: %s", e.what());
    }
    return nullptr;
}

char const* SwishPlugin::getPluginName() const noexcept
{
    return kSwishPluginName;
}

char const* SwishPlugin::getPluginVersion() const noexcept
{
    return kSwishPluginV3Version;
}

char const* SwishPlugin::getPluginNamespace() const noexcept
{
    return mNamespace.c_str();
}

int32_t SwishPlugin::configurePlugin(nvinfer1::DynamicPluginTensorDesc const* /*in*/, int32_t nbInputs,
    nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept
{
    // Nothing depends on shapes or types ahead of enqueue; only sanity-check the arity.
    if (nbInputs != 1 || nbOutputs != 1)
    {
        TPB_LOG_ERROR(kWhere, "configurePlugin: expected 1 input and 1 output, got %d and %d",
            static_cast<int>(nbInputs), static_cast<int>(nbOutputs));
        return -1;
    }
    return 0;
}

int32_t SwishPlugin::getOutputDataTypes(nvinfer1::DataType* outputTypes, int32_t nbOutputs,
    nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (outputTypes == nullptr || inputTypes == nullptr || nbOutputs != 1 || nbInputs != 1)
    {
        TPB_LOG_ERROR(kWhere, "getOutputDataTypes: expected 1 input and 1 output, got %d and %d",
            static_cast<int>(nbInputs), static_cast<int>(nbOutputs));
        return -1;
    }
    outputTypes[0] = inputTypes[0];
    return 0;
}

int32_t SwishPlugin::getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
    nvinfer1::DimsExprs const* /*shapeInputs*/, int32_t /*nbShapeInputs*/, nvinfer1::DimsExprs* outputs,
    int32_t nbOutputs, nvinfer1::IExprBuilder& /*exprBuilder*/) noexcept
{
    if (inputs == nullptr || outputs == nullptr || nbInputs != 1 || nbOutputs != 1)
    {
        TPB_LOG_ERROR(kWhere, "getOutputShapes: expected 1 input and 1 output, got %d and %d",
            static_cast<int>(nbInputs), static_cast<int>(nbOutputs));
        return -1; // checked before any write: a refusal leaves outputs untouched
    }
    outputs[0] = inputs[0];
    return 0;
}

bool SwishPlugin::supportsFormatCombination(
    int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    if (inOut == nullptr || nbInputs != 1 || nbOutputs != 1 || pos < 0 || pos >= nbInputs + nbOutputs)
    {
        return false;
    }
    return swishSupportsCombination(pos, nbInputs, nbOutputs, inOut[pos].desc.format, inOut[pos].desc.type,
        inOut[0].desc.type, inOut[0].desc.format, inOut[pos].desc.dims.nbDims, mParams.formats);
}

int32_t SwishPlugin::getNbOutputs() const noexcept
{
    return 1;
}

size_t SwishPlugin::getWorkspaceSize(nvinfer1::DynamicPluginTensorDesc const* /*inputs*/, int32_t /*nbInputs*/,
    nvinfer1::DynamicPluginTensorDesc const* /*outputs*/, int32_t /*nbOutputs*/) const noexcept
{
    return 0;
}

int32_t SwishPlugin::getValidTactics(int32_t* tactics, int32_t nbTactics) noexcept
{
    int32_t advertised[kMaxTactics]{};
    int32_t const count = swishTactics(mParams, advertised);
    if (tactics == nullptr || nbTactics != count)
    {
        TPB_LOG_ERROR(kWhere, "getValidTactics: expected room for %d tactics, got %d%s", static_cast<int>(count),
            static_cast<int>(nbTactics), tactics == nullptr ? " (null buffer)" : "");
        return -1;
    }
    std::copy(advertised, advertised + count, tactics);
    return 0;
}

int32_t SwishPlugin::getNbTactics() noexcept
{
    int32_t advertised[kMaxTactics]{};
    return swishTactics(mParams, advertised);
}

char const* SwishPlugin::getTimingCacheID() noexcept
{
    try
    {
        // beta by its bits: two betas that print alike must not share timings.
        uint32_t betaBits = 0;
        std::memcpy(&betaBits, &mParams.beta, sizeof(betaBits));
        char head[64] = {};
        std::snprintf(head, sizeof(head), "beta=0x%08" PRIx32 ";kernel=%" PRId32 ";table=", betaBits, mParams.kernel);
        std::string id = head;
        for (int32_t band = 0; band < std::min(mParams.bandCount, kSwishMaxBands); ++band)
        {
            // snprintf, not std::to_string: GCC 12's to_string instantiates a vague-linkage table
            // (__to_chars_10_impl's digits) that a -Bsymbolic second copy would still bind through the
            // global scope (test_namespace_and_suffix_make_a_second_library, 11.1 headers).
            char pair[32] = {};
            std::snprintf(pair, sizeof(pair), "%s%" PRId32 ":%" PRId32, band == 0 ? "" : ",", mParams.table[2 * band],
                mParams.table[2 * band + 1]);
            id += pair;
        }
        mTimingCacheId = std::move(id);
        return mTimingCacheId.c_str();
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "getTimingCacheID: %s", e.what());
    }
    return nullptr; // disables timing caching for this plugin, which is safe
}

int32_t SwishPlugin::setTactic(int32_t tactic) noexcept
{
    int32_t advertised[kMaxTactics]{};
    int32_t const count = swishTactics(mParams, advertised);
    if (tactic != 0 && std::find(advertised, advertised + count, tactic) == advertised + count)
    {
        TPB_LOG_ERROR(kWhere, "setTactic: tactic %d was not advertised (%d tactics: 1 = the table, k + 2 = kernel k)",
            static_cast<int>(tactic), static_cast<int>(count));
        return -1;
    }
    mTactic = tactic;
    mLaunch = launchParams();
    return 0;
}

SwishParams SwishPlugin::launchParams() const noexcept
{
    if (mTactic < kTacticKernelBase)
    {
        return mParams;
    }
    // One kernel at every size: what TensorRT times against the table, or chose over it.
    SwishParams single = mParams;
    single.kernel = mTactic - kTacticKernelBase;
    single.bandCount = 0;
    std::fill(std::begin(single.table), std::end(single.table), 0);
    return single;
}

int32_t SwishPlugin::onShapeChange(nvinfer1::PluginTensorDesc const* /*in*/, int32_t nbInputs,
    nvinfer1::PluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept
{
    // Shapes are read from the descriptors at enqueue, so there is nothing to cache here.
    return nbInputs == 1 && nbOutputs == 1 ? 0 : -1;
}

int32_t SwishPlugin::enqueue(nvinfer1::PluginTensorDesc const* inputDesc,
    nvinfer1::PluginTensorDesc const* /*outputDesc*/, void const* const* inputs, void* const* outputs,
    void* /*workspace*/, cudaStream_t stream) noexcept
{
    if (inputDesc == nullptr || inputs == nullptr || outputs == nullptr)
    {
        TPB_LOG_ERROR(kWhere, "enqueue: null tensor descriptors or pointers");
        return -1;
    }
    return enqueueSwish(inputDesc[0], inputs[0], outputs[0], mLaunch, stream, kWhere);
}

nvinfer1::IPluginV3* SwishPlugin::attachToContext(nvinfer1::IPluginResourceContext* /*context*/) noexcept
{
    // No per-context resources: every execution context gets its own independent copy.
    return clone();
}

nvinfer1::PluginFieldCollection const* SwishPlugin::getFieldsToSerialize() noexcept
{
    // Rebuilt on every call so the pointers always refer to this object's current members.
    mSerializedFields[0] = nvinfer1::PluginField(kSwishFieldBeta, &mParams.beta, nvinfer1::PluginFieldType::kFLOAT32, 1);
    mSerializedFields[1]
        = nvinfer1::PluginField(kSwishFieldKernel, &mParams.kernel, nvinfer1::PluginFieldType::kINT32, 1);
    // Always written (length 0 without a table) so the runtime phase can require them.
    mSerializedFields[2] = nvinfer1::PluginField(
        kSwishFieldKernelTable, mParams.table, nvinfer1::PluginFieldType::kINT32, 2 * mParams.bandCount);
    mSerializedFields[3]
        = nvinfer1::PluginField(kSwishFieldFormats, &mParams.formats, nvinfer1::PluginFieldType::kINT32, 1);
    mSerializedFieldCollection.nbFields = kSwishFieldCount;
    mSerializedFieldCollection.fields = mSerializedFields;
    return &mSerializedFieldCollection;
}

SwishPluginCreator::SwishPluginCreator()
{
    for (int32_t i = 0; i < kSwishFieldCount; ++i)
    {
        mFieldDescriptions[i] = describeSwishField(i);
    }
    mFieldCollection.nbFields = kSwishFieldCount;
    mFieldCollection.fields = mFieldDescriptions;
}

nvinfer1::IPluginV3* SwishPluginCreator::createPlugin(
    char const* /*name*/, nvinfer1::PluginFieldCollection const* fc, nvinfer1::TensorRTPhase phase) noexcept
{
    try
    {
        // Build phase: fields from the network definition; a missing field keeps its default.
        // Runtime phase (deserialization): exactly the fields getFieldsToSerialize() wrote, so all
        // three must be there. Unknown or repeated names are refused in both phases.
        bool const build = phase == nvinfer1::TensorRTPhase::kBUILD;
        char const* const where = build ? "Swish v2 createPlugin (build)" : "Swish v2 createPlugin (runtime)";
        SwishParams params;
        if (!parseSwishFields(
                fc, params, where, build ? SwishFieldPolicy::kDEFAULTS_ALLOWED : SwishFieldPolicy::kALL_REQUIRED))
        {
            return nullptr;
        }
        return new SwishPlugin(params, mNamespace.get());
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "createPlugin: %s", e.what());
    }
    return nullptr;
}

nvinfer1::PluginFieldCollection const* SwishPluginCreator::getFieldNames() noexcept
{
    return &mFieldCollection;
}

char const* SwishPluginCreator::getPluginName() const noexcept
{
    return kSwishPluginName;
}

char const* SwishPluginCreator::getPluginVersion() const noexcept
{
    return kSwishPluginV3Version;
}

char const* SwishPluginCreator::getPluginNamespace() const noexcept
{
    return mNamespace.get();
}

void SwishPluginCreator::setPluginNamespace(char const* pluginNamespace) noexcept
{
    if (!mNamespace.set(pluginNamespace))
    {
        TPB_LOG_ERROR(kWhere, "setPluginNamespace: could not store the namespace (out of memory)");
    }
}

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
