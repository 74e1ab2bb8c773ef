#include "residualRmsNormPlugin.h"

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
constexpr char const* kWhere = "TpbResidualRmsNorm v2";

// Tactic values. 0 is TensorRT's default tactic (never advertised, always accepted): the params as
// given. 1 applies the table; k + 2 runs kernel k at every size.
constexpr int32_t kTacticTable = 1;
constexpr int32_t kTacticKernelBase = 2;
constexpr int32_t kMaxTactics = 1 + kResidualRmsNormMaxBands;

//! The tactics to advertise for \p params, written to \p tactics (room for kMaxTactics); returns
//! how many. None without a table: an explicit kernel is what the user asked for, so nothing to time.
int32_t residualRmsNormTactics(ResidualRmsNormParams const& params, int32_t (&tactics)[kMaxTactics]) noexcept
{
    int32_t const bands = std::min(params.bandCount, kResidualRmsNormMaxBands);
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

ResidualRmsNormPlugin::ResidualRmsNormPlugin(ResidualRmsNormParams const& params, char const* pluginNamespace)
    : mParams(params)
    , mNamespace(pluginNamespace != nullptr ? pluginNamespace : "")
    , mLaunch(params)
{
}

nvinfer1::IPluginCapability* ResidualRmsNormPlugin::getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept
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

nvinfer1::IPluginV3* ResidualRmsNormPlugin::clone() noexcept
{
    try
    {
        auto* copy = new ResidualRmsNormPlugin(mParams, mNamespace.c_str());
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

char const* ResidualRmsNormPlugin::getPluginName() const noexcept
{
    return kResidualRmsNormPluginName;
}

char const* ResidualRmsNormPlugin::getPluginVersion() const noexcept
{
    return kResidualRmsNormPluginV3Version;
}

char const* ResidualRmsNormPlugin::getPluginNamespace() const noexcept
{
    return mNamespace.c_str();
}

int32_t ResidualRmsNormPlugin::configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
    nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept
{
    if (in == nullptr || nbInputs != kResidualRmsNormNbInputs || nbOutputs != kResidualRmsNormNbOutputs)
    {
        TPB_LOG_ERROR(kWhere, "configurePlugin: expected %d inputs and %d outputs, got %d and %d",
            static_cast<int>(kResidualRmsNormNbInputs), static_cast<int>(kResidualRmsNormNbOutputs), static_cast<int>(nbInputs),
            static_cast<int>(nbOutputs));
        return -1;
    }
    nvinfer1::Dims dims[kResidualRmsNormNbInputs];
    for (int32_t k = 0; k < kResidualRmsNormNbInputs; ++k)
    {
        dims[k] = in[k].desc.dims;
    }
    return checkResidualRmsNormShapes(dims, nbInputs, "TpbResidualRmsNorm v2 configurePlugin") ? 0 : -1;
}

int32_t ResidualRmsNormPlugin::getOutputDataTypes(nvinfer1::DataType* outputTypes, int32_t nbOutputs,
    nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (outputTypes == nullptr || inputTypes == nullptr || nbOutputs != kResidualRmsNormNbOutputs || nbInputs != kResidualRmsNormNbInputs)
    {
        TPB_LOG_ERROR(kWhere, "getOutputDataTypes: expected %d inputs and %d outputs, got %d and %d",
            static_cast<int>(kResidualRmsNormNbInputs), static_cast<int>(kResidualRmsNormNbOutputs), static_cast<int>(nbInputs),
            static_cast<int>(nbOutputs));
        return -1;
    }
    for (int32_t j = 0; j < nbOutputs; ++j)
    {
        outputTypes[j] = inputTypes[0];
    }
    return 0;
}

int32_t ResidualRmsNormPlugin::getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
    nvinfer1::DimsExprs const* /*shapeInputs*/, int32_t /*nbShapeInputs*/, nvinfer1::DimsExprs* outputs,
    int32_t nbOutputs, nvinfer1::IExprBuilder& /*exprBuilder*/) noexcept
{
    if (inputs == nullptr || outputs == nullptr || nbInputs != kResidualRmsNormNbInputs || nbOutputs != kResidualRmsNormNbOutputs)
    {
        TPB_LOG_ERROR(kWhere, "getOutputShapes: expected %d inputs and %d outputs, got %d and %d",
            static_cast<int>(kResidualRmsNormNbInputs), static_cast<int>(kResidualRmsNormNbOutputs), static_cast<int>(nbInputs),
            static_cast<int>(nbOutputs));
        return -1; // checked before any write: a refusal leaves outputs untouched
    }
    for (int32_t j = 0; j < nbOutputs; ++j)
    {
        outputs[j] = inputs[0]; // every output has x's shape
    }
    return 0;
}

bool ResidualRmsNormPlugin::supportsFormatCombination(
    int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    if (inOut == nullptr || nbInputs != kResidualRmsNormNbInputs || nbOutputs != kResidualRmsNormNbOutputs || pos < 0
        || pos >= nbInputs + nbOutputs)
    {
        return false;
    }
    return residualRmsNormSupportsCombination(
        pos, nbInputs, nbOutputs, inOut[pos].desc.format, inOut[pos].desc.type, inOut[0].desc.type);
}

int32_t ResidualRmsNormPlugin::getNbOutputs() const noexcept
{
    return kResidualRmsNormNbOutputs;
}

size_t ResidualRmsNormPlugin::getWorkspaceSize(nvinfer1::DynamicPluginTensorDesc const* /*inputs*/, int32_t /*nbInputs*/,
    nvinfer1::DynamicPluginTensorDesc const* /*outputs*/, int32_t /*nbOutputs*/) const noexcept
{
    return 0;
}

int32_t ResidualRmsNormPlugin::getValidTactics(int32_t* tactics, int32_t nbTactics) noexcept
{
    int32_t advertised[kMaxTactics]{};
    int32_t const count = residualRmsNormTactics(mParams, advertised);
    if (tactics == nullptr || nbTactics != count)
    {
        TPB_LOG_ERROR(kWhere, "getValidTactics: expected room for %d tactics, got %d%s", static_cast<int>(count),
            static_cast<int>(nbTactics), tactics == nullptr ? " (null buffer)" : "");
        return -1;
    }
    std::copy(advertised, advertised + count, tactics);
    return 0;
}

int32_t ResidualRmsNormPlugin::getNbTactics() noexcept
{
    int32_t advertised[kMaxTactics]{};
    return residualRmsNormTactics(mParams, advertised);
}

char const* ResidualRmsNormPlugin::getTimingCacheID() noexcept
{
    try
    {
        // eps by its bits: two values that print alike must not share timings.
        uint32_t epsBits = 0;
        std::memcpy(&epsBits, &mParams.eps, sizeof(epsBits));
        char head[64] = {};
        std::snprintf(head, sizeof(head), "eps=0x%08" PRIx32 ";kernel=%" PRId32 ";table=", epsBits, mParams.kernel);
        std::string id = head;
        for (int32_t band = 0; band < std::min(mParams.bandCount, kResidualRmsNormMaxBands); ++band)
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

int32_t ResidualRmsNormPlugin::setTactic(int32_t tactic) noexcept
{
    int32_t advertised[kMaxTactics]{};
    int32_t const count = residualRmsNormTactics(mParams, advertised);
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

ResidualRmsNormParams ResidualRmsNormPlugin::launchParams() const noexcept
{
    if (mTactic < kTacticKernelBase)
    {
        return mParams;
    }
    // One kernel at every size: what TensorRT times against the table, or chose over it.
    ResidualRmsNormParams single = mParams;
    single.kernel = mTactic - kTacticKernelBase;
    single.bandCount = 0;
    std::fill(std::begin(single.table), std::end(single.table), 0);
    return single;
}

int32_t ResidualRmsNormPlugin::onShapeChange(nvinfer1::PluginTensorDesc const* /*in*/, int32_t nbInputs,
    nvinfer1::PluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept
{
    // Shapes are read from the descriptors at enqueue, so there is nothing to cache here.
    return nbInputs == kResidualRmsNormNbInputs && nbOutputs == kResidualRmsNormNbOutputs ? 0 : -1;
}

int32_t ResidualRmsNormPlugin::enqueue(nvinfer1::PluginTensorDesc const* inputDesc,
    nvinfer1::PluginTensorDesc const* /*outputDesc*/, void const* const* inputs, void* const* outputs,
    void* /*workspace*/, cudaStream_t stream) noexcept
{
    if (inputDesc == nullptr || inputs == nullptr || outputs == nullptr)
    {
        TPB_LOG_ERROR(kWhere, "enqueue: null tensor descriptors or pointers");
        return -1;
    }
    return enqueueResidualRmsNorm(inputDesc, inputs, outputs, mLaunch, stream, kWhere);
}

nvinfer1::IPluginV3* ResidualRmsNormPlugin::attachToContext(nvinfer1::IPluginResourceContext* /*context*/) noexcept
{
    // No per-context resources: every execution context gets its own independent copy.
    return clone();
}

nvinfer1::PluginFieldCollection const* ResidualRmsNormPlugin::getFieldsToSerialize() noexcept
{
    // Rebuilt on every call so the pointers always refer to this object's current members.
    residualRmsNormSerializedFields(mParams, mSerializedFields);
    mSerializedFieldCollection.nbFields = kResidualRmsNormFieldCount;
    mSerializedFieldCollection.fields = mSerializedFields;
    return &mSerializedFieldCollection;
}

ResidualRmsNormPluginCreator::ResidualRmsNormPluginCreator()
{
    for (int32_t i = 0; i < kResidualRmsNormFieldCount; ++i)
    {
        mFieldDescriptions[i] = describeResidualRmsNormField(i);
    }
    mFieldCollection.nbFields = kResidualRmsNormFieldCount;
    mFieldCollection.fields = mFieldDescriptions;
}

nvinfer1::IPluginV3* ResidualRmsNormPluginCreator::createPlugin(
    char const* /*name*/, nvinfer1::PluginFieldCollection const* fc, nvinfer1::TensorRTPhase phase) noexcept
{
    try
    {
        // Build phase: fields from the network definition; a missing field keeps its default.
        // Runtime phase (deserialization): exactly the fields getFieldsToSerialize() wrote, so all
        // three must be there. Unknown or repeated names are refused in both phases.
        bool const build = phase == nvinfer1::TensorRTPhase::kBUILD;
        char const* const where = build ? "TpbResidualRmsNorm v2 createPlugin (build)" : "TpbResidualRmsNorm v2 createPlugin (runtime)";
        ResidualRmsNormParams params;
        if (!parseResidualRmsNormFields(
                fc, params, where, build ? ResidualRmsNormFieldPolicy::kDEFAULTS_ALLOWED : ResidualRmsNormFieldPolicy::kALL_REQUIRED))
        {
            return nullptr;
        }
        return new ResidualRmsNormPlugin(params, mNamespace.get());
    }
    catch (std::exception const& e)
    {
        TPB_LOG_ERROR(kWhere, "createPlugin: %s", e.what());
    }
    return nullptr;
}

nvinfer1::PluginFieldCollection const* ResidualRmsNormPluginCreator::getFieldNames() noexcept
{
    return &mFieldCollection;
}

char const* ResidualRmsNormPluginCreator::getPluginName() const noexcept
{
    return kResidualRmsNormPluginName;
}

char const* ResidualRmsNormPluginCreator::getPluginVersion() const noexcept
{
    return kResidualRmsNormPluginV3Version;
}

char const* ResidualRmsNormPluginCreator::getPluginNamespace() const noexcept
{
    return mNamespace.get();
}

void ResidualRmsNormPluginCreator::setPluginNamespace(char const* pluginNamespace) noexcept
{
    if (!mNamespace.set(pluginNamespace))
    {
        TPB_LOG_ERROR(kWhere, "setPluginNamespace: could not store the namespace (out of memory)");
    }
}

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
