// The IPluginV3 plumbing every operator of this project shares (TensorRT >= 10 only; with older headers
// this header declares nothing, so it can be included unconditionally): PluginV3Base<Op> is the plugin
// (capabilities, clone, arity checks, tactics over the kernel table, the timing-cache id, the
// serialized fields) and PluginV3CreatorBase<Op> its IPluginCreatorV3One. What differs per operator
// comes from the traits type Op (one per operator, <op>PluginParams.h, shared with pluginV2Base.h; kWhere and
// the functions are declared there by pluginOpTraits.h's TPB_PLUGIN_OP_MEMBERS, defined in <op>PluginParams.cpp):
//
//   using Params = ...;                       trivially copyable; members kernel, bandCount, table[2 * kMaxBands]
//   static constexpr char const* kName, kVersion;             creator/plugin name and the V3 version
//   static const PluginWheres kWhere;                         the log prefixes (pluginWhere.h), derived from
//       kName and the versions: "Swish v2", "Swish v2 createPlugin (build)", ...; defined in <op>PluginParams.cpp
//   static constexpr int32_t kNbInputs, kNbOutputs, kFieldCount, kMaxBands;
//   static constexpr bool kChecksShapesAtConfigure;           if true (logged under kWhere.configure):
//       static bool checkShapes(nvinfer1::Dims const* dims, int32_t nbInputs, char const* where) noexcept;
//   static bool supportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs,
//       nvinfer1::PluginTensorDesc const& desc, nvinfer1::PluginTensorDesc const& first, Params const&) noexcept;
//   static int writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept;   // "...;table="
//   static void serializedFields(Params& params, nvinfer1::PluginField (&fields)[kFieldCount]) noexcept;
//   static nvinfer1::PluginField describeField(int32_t index) noexcept;
//   static bool parseFields(nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where,
//       bool build) noexcept;                                 build: defaults allowed; runtime: all required
//   static int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
//       void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept;
//
// Everything here is a template, so it is instantiated in each operator's <op>Plugin.cpp (explicitly).
// No static data members and no function-local statics: GCC emits those of a template as STB_GNU_UNIQUE
// symbols, and one such symbol keeps dlclose from unmapping the library.
//
// Tactics (the same for every operator): 0 is TensorRT's default tactic (never advertised, always
// accepted): the params as given. 1 applies the table; k + 2 runs kernel k at every size. None are
// advertised without a table: an explicit kernel is what the user asked for, so nothing to time.
#pragma once

#include "NvInferRuntime.h"

#if NV_TENSORRT_MAJOR >= 10

#include "creatorNamespace.h"
#include "pluginLog.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <iterator>
#include <string>
#include <type_traits>

namespace tpb
{

template <typename Op>
class PluginV3Base : public nvinfer1::IPluginV3,
                     public nvinfer1::IPluginV3OneCore,
                     public nvinfer1::IPluginV3OneBuild,
                     public nvinfer1::IPluginV3OneRuntime
{
public:
    using Params = typename Op::Params;
    static_assert(std::is_trivially_copyable<Params>::value, "PluginField points straight at the params");

    // Enumerators, not static constexpr members: those are inline variables, which a template emits as
    // STB_GNU_UNIQUE symbols, and one such symbol keeps dlclose from unmapping the library (the creator
    // check's dlclose test). For the same reason the Op's constants are never bound to a reference
    // (std::min(x, Op::kMaxBands) would be): they are copied into locals first.
    enum : int32_t
    {
        kTacticTable = 1,
        kTacticKernelBase = 2,
        kMaxTactics = 1 + Op::kMaxBands,
    };

    PluginV3Base(Params const& params, char const* pluginNamespace)
        : mParams(params)
        , mNamespace(pluginNamespace != nullptr ? pluginNamespace : "")
        , mLaunch(params)
    {
    }

    PluginV3Base(PluginV3Base const&) = delete;
    PluginV3Base& operator=(PluginV3Base const&) = delete;
    ~PluginV3Base() override = default;

    // IPluginV3
    nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override
    {
        switch (type)
        {
        case nvinfer1::PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
        case nvinfer1::PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
        case nvinfer1::PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
        }
        TPB_LOG_ERROR(Op::kWhere.plugin, "getCapabilityInterface: unknown capability %d", static_cast<int>(type));
        return nullptr;
    }

    nvinfer1::IPluginV3* clone() noexcept override
    {
        try
        {
            auto* copy = new PluginV3Base(mParams, mNamespace.c_str());
            copy->mTactic = mTactic; // a context's clone must run the tactic the engine chose
            copy->mLaunch = mLaunch;
            return copy;
        }
        catch (std::exception const& e)
        {
            TPB_LOG_ERROR(Op::kWhere.plugin, "clone: %s", e.what());
        }
        return nullptr;
    }

    // IPluginV3OneCore
    char const* getPluginName() const noexcept override
    {
        return Op::kName;
    }

    char const* getPluginVersion() const noexcept override
    {
        return Op::kVersion;
    }

    char const* getPluginNamespace() const noexcept override
    {
        return mNamespace.c_str();
    }

    // IPluginV3OneBuild
    int32_t configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
        nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept override
    {
        if ((Op::kChecksShapesAtConfigure && in == nullptr) || !arityIs(nbInputs, nbOutputs))
        {
            logArity("configurePlugin", nbInputs, nbOutputs);
            return -1;
        }
        if constexpr (Op::kChecksShapesAtConfigure)
        {
            nvinfer1::Dims dims[Op::kNbInputs];
            for (int32_t k = 0; k < Op::kNbInputs; ++k)
            {
                dims[k] = in[k].desc.dims;
            }
            return Op::checkShapes(dims, nbInputs, Op::kWhere.configure) ? 0 : -1;
        }
        // Nothing depends on shapes or types ahead of enqueue; only the arity is checked.
        return 0;
    }

    int32_t getOutputDataTypes(nvinfer1::DataType* outputTypes, int32_t nbOutputs,
        nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept override
    {
        if (outputTypes == nullptr || inputTypes == nullptr || !arityIs(nbInputs, nbOutputs))
        {
            logArity("getOutputDataTypes", nbInputs, nbOutputs);
            return -1;
        }
        for (int32_t j = 0; j < nbOutputs; ++j)
        {
            outputTypes[j] = inputTypes[0];
        }
        return 0;
    }

    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
        nvinfer1::DimsExprs const* /*shapeInputs*/, int32_t /*nbShapeInputs*/, nvinfer1::DimsExprs* outputs,
        int32_t nbOutputs, nvinfer1::IExprBuilder& /*exprBuilder*/) noexcept override
    {
        if (inputs == nullptr || outputs == nullptr || !arityIs(nbInputs, nbOutputs))
        {
            logArity("getOutputShapes", nbInputs, nbOutputs);
            return -1; // checked before any write: a refusal leaves outputs untouched
        }
        for (int32_t j = 0; j < nbOutputs; ++j)
        {
            outputs[j] = inputs[0]; // every output has the first input's shape
        }
        return 0;
    }

    bool supportsFormatCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs,
        int32_t nbOutputs) noexcept override
    {
        if (inOut == nullptr || !arityIs(nbInputs, nbOutputs) || pos < 0 || pos >= nbInputs + nbOutputs)
        {
            return false;
        }
        return Op::supportsCombination(pos, nbInputs, nbOutputs, inOut[pos].desc, inOut[0].desc, mParams);
    }

    int32_t getNbOutputs() const noexcept override
    {
        return Op::kNbOutputs;
    }

    size_t getWorkspaceSize(nvinfer1::DynamicPluginTensorDesc const* /*inputs*/, int32_t /*nbInputs*/,
        nvinfer1::DynamicPluginTensorDesc const* /*outputs*/, int32_t /*nbOutputs*/) const noexcept override
    {
        return 0;
    }

    //! With a kernel table, tactic 1 ("apply the table") and k + 2 for each distinct kernel k in it,
    //! so TensorRT's own timing can pick; none without a table (the "kernel" field wins, untimed).
    int32_t getValidTactics(int32_t* tactics, int32_t nbTactics) noexcept override
    {
        int32_t advertised[kMaxTactics]{};
        int32_t const count = advertisedTactics(mParams, advertised);
        if (tactics == nullptr || nbTactics != count)
        {
            TPB_LOG_ERROR(Op::kWhere.plugin, "getValidTactics: expected room for %d tactics, got %d%s",
                static_cast<int>(count), static_cast<int>(nbTactics), tactics == nullptr ? " (null buffer)" : "");
            return -1;
        }
        std::copy(advertised, advertised + count, tactics);
        return 0;
    }

    int32_t getNbTactics() noexcept override
    {
        int32_t advertised[kMaxTactics]{};
        return advertisedTactics(mParams, advertised);
    }

    //! The operator's attributes, kernel and table: what decides what a timing measured.
    char const* getTimingCacheID() noexcept override
    {
        try
        {
            char head[64] = {};
            Op::writeTimingCacheHead(mParams, head, sizeof(head));
            std::string id = head;
            int32_t const maxBands = Op::kMaxBands;
            for (int32_t band = 0; band < std::min(mParams.bandCount, maxBands); ++band)
            {
                // snprintf, not std::to_string: GCC 12's to_string instantiates a vague-linkage table
                // (__to_chars_10_impl's digits) that a -Bsymbolic second copy would still bind through the
                // global scope (test_namespace_and_suffix_make_a_second_library, 11.1 headers).
                char pair[32] = {};
                std::snprintf(pair, sizeof(pair), "%s%" PRId32 ":%" PRId32, band == 0 ? "" : ",",
                    mParams.table[2 * band], mParams.table[2 * band + 1]);
                id += pair;
            }
            mTimingCacheId = std::move(id);
            return mTimingCacheId.c_str();
        }
        catch (std::exception const& e)
        {
            TPB_LOG_ERROR(Op::kWhere.plugin, "getTimingCacheID: %s", e.what());
        }
        return nullptr; // disables timing caching for this plugin, which is safe
    }

    // IPluginV3OneRuntime
    //! 0 (TensorRT's default) or an advertised tactic; anything else is refused (non-zero, logged).
    int32_t setTactic(int32_t tactic) noexcept override
    {
        int32_t advertised[kMaxTactics]{};
        int32_t const count = advertisedTactics(mParams, advertised);
        if (tactic != 0 && std::find(advertised, advertised + count, tactic) == advertised + count)
        {
            TPB_LOG_ERROR(Op::kWhere.plugin,
                "setTactic: tactic %d was not advertised (%d tactics: 1 = the table, k + 2 = kernel k)",
                static_cast<int>(tactic), static_cast<int>(count));
            return -1;
        }
        mTactic = tactic;
        mLaunch = launchParams();
        return 0;
    }

    int32_t onShapeChange(nvinfer1::PluginTensorDesc const* /*in*/, int32_t nbInputs,
        nvinfer1::PluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept override
    {
        // Shapes are read from the descriptors at enqueue, so there is nothing to cache here.
        return arityIs(nbInputs, nbOutputs) ? 0 : -1;
    }

    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* /*outputDesc*/,
        void const* const* inputs, void* const* outputs, void* /*workspace*/, cudaStream_t stream) noexcept override
    {
        if (inputDesc == nullptr || inputs == nullptr || outputs == nullptr)
        {
            TPB_LOG_ERROR(Op::kWhere.plugin, "enqueue: null tensor descriptors or pointers");
            return -1;
        }
        return Op::enqueue(inputDesc, inputs, outputs, mLaunch, stream, Op::kWhere.plugin);
    }

    nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext* /*context*/) noexcept override
    {
        // No per-context resources: every execution context gets its own independent copy.
        return clone();
    }

    nvinfer1::PluginFieldCollection const* getFieldsToSerialize() noexcept override
    {
        // Rebuilt on every call so the pointers always refer to this object's current members.
        Op::serializedFields(mParams, mSerializedFields);
        mSerializedFieldCollection.nbFields = Op::kFieldCount;
        mSerializedFieldCollection.fields = mSerializedFields;
        return &mSerializedFieldCollection;
    }

private:
    static bool arityIs(int32_t nbInputs, int32_t nbOutputs) noexcept
    {
        return nbInputs == Op::kNbInputs && nbOutputs == Op::kNbOutputs;
    }

    //! "<call>: expected 1 input and 1 output, got ..." (one of each), else "expected N inputs and M outputs".
    static void logArity(char const* call, int32_t nbInputs, int32_t nbOutputs) noexcept
    {
        if (Op::kNbInputs == 1 && Op::kNbOutputs == 1)
        {
            TPB_LOG_ERROR(Op::kWhere.plugin, "%s: expected 1 input and 1 output, got %d and %d", call,
                static_cast<int>(nbInputs), static_cast<int>(nbOutputs));
        }
        else
        {
            TPB_LOG_ERROR(Op::kWhere.plugin, "%s: expected %d inputs and %d outputs, got %d and %d", call,
                static_cast<int>(Op::kNbInputs), static_cast<int>(Op::kNbOutputs), static_cast<int>(nbInputs),
                static_cast<int>(nbOutputs));
        }
    }

    //! The tactics to advertise for \p params, written to \p tactics; returns how many.
    static int32_t advertisedTactics(Params const& params, int32_t (&tactics)[kMaxTactics]) noexcept
    {
        int32_t const maxBands = Op::kMaxBands;
        int32_t const bands = std::min(params.bandCount, maxBands);
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

    //! What enqueue launches under mTactic: mParams (table or kernel) for 0 and 1, else one kernel.
    Params launchParams() const noexcept
    {
        if (mTactic < kTacticKernelBase)
        {
            return mParams;
        }
        // One kernel at every size: what TensorRT times against the table, or chose over it.
        Params single = mParams;
        single.kernel = mTactic - kTacticKernelBase;
        single.bandCount = 0;
        std::fill(std::begin(single.table), std::end(single.table), 0);
        return single;
    }

    Params mParams;
    std::string mNamespace;
    int32_t mTactic{0}; // set by setTactic (build-time timing, then the chosen one at run time)
    Params mLaunch;     // launchParams() for mTactic, derived once in setTactic, not on every enqueue
    // Storage for getTimingCacheID(): the returned pointer must outlive the call.
    std::string mTimingCacheId;
    // Storage for getFieldsToSerialize(); the fields point into mParams, so the collection stays
    // valid as long as this object does.
    nvinfer1::PluginField mSerializedFields[Op::kFieldCount];
    nvinfer1::PluginFieldCollection mSerializedFieldCollection{};
};

template <typename Op>
class PluginV3CreatorBase : public nvinfer1::IPluginCreatorV3One
{
public:
    PluginV3CreatorBase()
    {
        for (int32_t i = 0; i < Op::kFieldCount; ++i)
        {
            mFieldDescriptions[i] = Op::describeField(i);
        }
        mFieldCollection.nbFields = Op::kFieldCount;
        mFieldCollection.fields = mFieldDescriptions;
    }

    nvinfer1::IPluginV3* createPlugin(char const* /*name*/, nvinfer1::PluginFieldCollection const* fc,
        nvinfer1::TensorRTPhase phase) noexcept override
    {
        try
        {
            // Build phase: fields from the network definition; a missing field keeps its default.
            // Runtime phase (deserialization): exactly the fields getFieldsToSerialize() wrote, so all
            // of them must be there. Unknown or repeated names are refused in both phases.
            bool const build = phase == nvinfer1::TensorRTPhase::kBUILD;
            char const* const where = build ? Op::kWhere.createBuild : Op::kWhere.createRuntime;
            typename Op::Params params;
            if (!Op::parseFields(fc, params, where, build))
            {
                return nullptr;
            }
            return new PluginV3Base<Op>(params, mNamespace.get());
        }
        catch (std::exception const& e)
        {
            TPB_LOG_ERROR(Op::kWhere.plugin, "createPlugin: %s", e.what());
        }
        return nullptr;
    }

    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override
    {
        return &mFieldCollection;
    }

    char const* getPluginName() const noexcept override
    {
        return Op::kName;
    }

    char const* getPluginVersion() const noexcept override
    {
        return Op::kVersion;
    }

    char const* getPluginNamespace() const noexcept override
    {
        return mNamespace.get();
    }

    //! Not part of IPluginCreatorV3One: set before registration; plugins created later inherit it.
    void setPluginNamespace(char const* pluginNamespace) noexcept
    {
        if (!mNamespace.set(pluginNamespace))
        {
            TPB_LOG_ERROR(Op::kWhere.plugin, "setPluginNamespace: could not store the namespace (out of memory)");
        }
    }

    //! The namespace storage the library's registration sets (creatorNamespace.h: safe from any thread;
    //! getPluginNamespace's pointer stays valid as long as the creator).
    CreatorNamespace& namespaceSlot() noexcept
    {
        return mNamespace;
    }

private:
    nvinfer1::PluginField mFieldDescriptions[Op::kFieldCount];
    nvinfer1::PluginFieldCollection mFieldCollection{};
    CreatorNamespace mNamespace;
};

} // namespace tpb

#endif // NV_TENSORRT_MAJOR >= 10
