// The IPluginV2DynamicExt plumbing every operator of this project shares (what TensorRT 8.6 runs;
// deprecated from TensorRT 10 on, where pluginV3Base.h is the other version): PluginV2DynamicExtBase<Op>
// is the plugin (arity checks, clone, namespace, the record as its serialization) and
// PluginV2CreatorBase<Op, Plugin> its IPluginCreator. What differs per operator comes from the traits
// type Op (<op>PluginParams.h), the members pluginV3Base.h lists and, for this version:
//
//   static constexpr char const* kLegacyVersion;               the V2 version ("1")
//   kWhere.legacy, legacyCreate, legacyDeserialize, (with shape checks) legacyConfigure: the log prefixes
//       "Swish v1", "Swish v1 createPlugin", ... (pluginWhere.h)
//   static size_t recordSize(Params const& params) noexcept;
//   static bool writeRecord(Params const& params, void* buffer, size_t capacity) noexcept;
//   static bool readRecord(void const* data, size_t length, Params& params, char const* where) noexcept;
//
// The record format and its version stay the operator's (<op>Record.h / <op>PluginParams.cpp), so
// engines serialized before keep deserializing.
#pragma once

#include "NvInferRuntime.h"
#include "creatorNamespace.h"
#include "pluginLog.h"

#include <exception>
#include <string>
#include <type_traits>

namespace tpb
{

template <typename Op>
class PluginV2DynamicExtBase : public nvinfer1::IPluginV2DynamicExt
{
public:
    using Params = typename Op::Params;
    static_assert(std::is_trivially_copyable<Params>::value, "PluginField and the record copy the params bytewise");

    explicit PluginV2DynamicExtBase(Params const& params)
        : mParams(params)
    {
    }

    // IPluginV2
    char const* getPluginType() const noexcept override
    {
        return Op::kName;
    }

    char const* getPluginVersion() const noexcept override
    {
        return Op::kLegacyVersion;
    }

    int32_t getNbOutputs() const noexcept override
    {
        return Op::kNbOutputs;
    }

    int32_t initialize() noexcept override
    {
        return 0;
    }

    void terminate() noexcept override {}

    size_t getSerializationSize() const noexcept override
    {
        return Op::recordSize(mParams);
    }

    void serialize(void* buffer) const noexcept override
    {
        // TensorRT provides exactly getSerializationSize() bytes.
        if (!Op::writeRecord(mParams, buffer, Op::recordSize(mParams)))
        {
            TPB_LOG_ERROR(Op::kWhere.legacy, "serialize: null buffer");
        }
    }

    void destroy() noexcept override
    {
        delete this;
    }

    void setPluginNamespace(char const* pluginNamespace) noexcept override
    {
        try
        {
            mNamespace = pluginNamespace != nullptr ? pluginNamespace : "";
        }
        catch (std::exception const& e)
        {
            TPB_LOG_ERROR(Op::kWhere.legacy, "setPluginNamespace: %s", e.what());
        }
    }

    char const* getPluginNamespace() const noexcept override
    {
        return mNamespace.c_str();
    }

    // IPluginV2Ext
    nvinfer1::DataType getOutputDataType(
        int32_t index, nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept override
    {
        if (index < 0 || index >= Op::kNbOutputs || inputTypes == nullptr || nbInputs != Op::kNbInputs)
        {
            logOutputIndex("getOutputDataType", index, nbInputs);
            return nvinfer1::DataType::kFLOAT;
        }
        return inputTypes[0];
    }

    // IPluginV2DynamicExt
    nvinfer1::IPluginV2DynamicExt* clone() const noexcept override
    {
        try
        {
            auto* copy = new PluginV2DynamicExtBase(mParams);
            copy->mNamespace = mNamespace;
            return copy;
        }
        catch (std::exception const& e)
        {
            TPB_LOG_ERROR(Op::kWhere.legacy, "clone: %s", e.what());
        }
        return nullptr;
    }

    nvinfer1::DimsExprs getOutputDimensions(int32_t outputIndex, nvinfer1::DimsExprs const* inputs, int32_t nbInputs,
        nvinfer1::IExprBuilder& /*exprBuilder*/) noexcept override
    {
        if (outputIndex < 0 || outputIndex >= Op::kNbOutputs || inputs == nullptr || nbInputs != Op::kNbInputs)
        {
            logOutputIndex("getOutputDimensions", outputIndex, nbInputs);
            // nbDims = 0 would be a valid scalar shape and TensorRT would build it; -1 is no shape at
            // all, so TensorRT refuses the network instead.
            nvinfer1::DimsExprs invalid{};
            invalid.nbDims = -1;
            return invalid;
        }
        return inputs[0]; // every output has the first input's shape
    }

    bool supportsFormatCombination(
        int32_t pos, nvinfer1::PluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept override
    {
        if (inOut == nullptr || nbInputs != Op::kNbInputs || nbOutputs != Op::kNbOutputs || pos < 0
            || pos >= nbInputs + nbOutputs)
        {
            return false;
        }
        return Op::supportsCombination(pos, nbInputs, nbOutputs, inOut[pos], inOut[0], mParams);
    }

    void configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
        nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t nbOutputs) noexcept override
    {
        if ((Op::kChecksShapesAtConfigure && in == nullptr) || nbInputs != Op::kNbInputs
            || nbOutputs != Op::kNbOutputs)
        {
            if (Op::kNbInputs == 1 && Op::kNbOutputs == 1)
            {
                TPB_LOG_ERROR(Op::kWhere.legacy, "configurePlugin: expected 1 input and 1 output, got %d and %d",
                    static_cast<int>(nbInputs), static_cast<int>(nbOutputs));
            }
            else
            {
                TPB_LOG_ERROR(Op::kWhere.legacy, "configurePlugin: expected %d inputs and %d outputs, got %d and %d",
                    static_cast<int>(Op::kNbInputs), static_cast<int>(Op::kNbOutputs), static_cast<int>(nbInputs),
                    static_cast<int>(nbOutputs));
            }
            return;
        }
        if constexpr (Op::kChecksShapesAtConfigure)
        {
            nvinfer1::Dims dims[Op::kNbInputs];
            for (int32_t k = 0; k < Op::kNbInputs; ++k)
            {
                dims[k] = in[k].desc.dims;
            }
            // logged here; enqueue refuses the launch itself (configurePlugin cannot fail in this interface)
            static_cast<void>(Op::checkShapes(dims, nbInputs, Op::kWhere.legacyConfigure));
        }
        // Otherwise nothing depends on shapes or types ahead of enqueue; only the arity is checked.
    }

    size_t getWorkspaceSize(nvinfer1::PluginTensorDesc const* /*inputs*/, int32_t /*nbInputs*/,
        nvinfer1::PluginTensorDesc const* /*outputs*/, int32_t /*nbOutputs*/) const noexcept override
    {
        return 0;
    }

    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* /*outputDesc*/,
        void const* const* inputs, void* const* outputs, void* /*workspace*/, cudaStream_t stream) noexcept override
    {
        if (inputDesc == nullptr || inputs == nullptr || outputs == nullptr)
        {
            TPB_LOG_ERROR(Op::kWhere.legacy, "enqueue: null tensor descriptors or pointers");
            return -1;
        }
        return Op::enqueue(inputDesc, inputs, outputs, mParams, stream, Op::kWhere.legacy);
    }

protected:
    Params const& params() const noexcept
    {
        return mParams;
    }

    std::string const& pluginNamespace() const noexcept
    {
        return mNamespace;
    }

private:
    //! "expected output 0 of 1 input, ..." (one of each), else "expected an output below M of N inputs, ...".
    static void logOutputIndex(char const* call, int32_t index, int32_t nbInputs) noexcept
    {
        if (Op::kNbInputs == 1 && Op::kNbOutputs == 1)
        {
            TPB_LOG_ERROR(Op::kWhere.legacy, "%s: expected output 0 of 1 input, got index %d of %d inputs", call,
                static_cast<int>(index), static_cast<int>(nbInputs));
        }
        else
        {
            TPB_LOG_ERROR(Op::kWhere.legacy, "%s: expected an output below %d of %d inputs, got index %d of %d inputs",
                call, static_cast<int>(Op::kNbOutputs), static_cast<int>(Op::kNbInputs), static_cast<int>(index),
                static_cast<int>(nbInputs));
        }
    }

    Params mParams;
    std::string mNamespace;
};

//! The IPluginCreator of \p Plugin (PluginV2DynamicExtBase<Op>, or a class derived from it that is
//! constructible from Op::Params).
template <typename Op, typename Plugin = PluginV2DynamicExtBase<Op>>
class PluginV2CreatorBase : public nvinfer1::IPluginCreator
{
public:
    PluginV2CreatorBase()
    {
        for (int32_t i = 0; i < Op::kFieldCount; ++i)
        {
            mFieldDescriptions[i] = Op::describeField(i);
        }
        mFieldCollection.nbFields = Op::kFieldCount;
        mFieldCollection.fields = mFieldDescriptions;
    }

    char const* getPluginName() const noexcept override
    {
        return Op::kName;
    }

    char const* getPluginVersion() const noexcept override
    {
        return Op::kLegacyVersion;
    }

    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override
    {
        return &mFieldCollection;
    }

    nvinfer1::IPluginV2* createPlugin(char const* /*name*/, nvinfer1::PluginFieldCollection const* fc) noexcept override
    {
        try
        {
            typename Op::Params params;
            if (!Op::parseFields(fc, params, Op::kWhere.legacyCreate, /*build=*/true))
            {
                return nullptr;
            }
            auto* plugin = new Plugin(params);
            plugin->setPluginNamespace(mNamespace.get());
            return plugin;
        }
        catch (std::exception const& e)
        {
            TPB_LOG_ERROR(Op::kWhere.legacy, "createPlugin: %s", e.what());
        }
        return nullptr;
    }

    nvinfer1::IPluginV2* deserializePlugin(
        char const* /*name*/, void const* serialData, size_t serialLength) noexcept override
    {
        try
        {
            typename Op::Params params;
            if (!Op::readRecord(serialData, serialLength, params, Op::kWhere.legacyDeserialize))
            {
                return nullptr;
            }
            auto* plugin = new Plugin(params);
            plugin->setPluginNamespace(mNamespace.get());
            return plugin;
        }
        catch (std::exception const& e)
        {
            TPB_LOG_ERROR(Op::kWhere.legacy, "deserializePlugin: %s", e.what());
        }
        return nullptr;
    }

    void setPluginNamespace(char const* pluginNamespace) noexcept override
    {
        if (!mNamespace.set(pluginNamespace))
        {
            TPB_LOG_ERROR(Op::kWhere.legacy, "setPluginNamespace: could not store the namespace (out of memory)");
        }
    }

    char const* getPluginNamespace() const noexcept override
    {
        return mNamespace.get();
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
