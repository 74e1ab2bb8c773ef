// The parameter code the two row-normalisation operators share (layerNormPlugin, residualRmsNormPlugin;
// both plugin versions of each): the fields "eps" / "kernel" / "kernel_table" (parsed by common/pluginFields.h)
// and their validation, the kernel choice by x's bytes, the V2 record (magic, version, CRC-32:
// common/pluginRecord.h), type mapping, supportsFormatCombination, the timing-cache id's head, and the
// pieces of enqueue and of the shape check the two have alike. One body, over a small traits struct per
// operator holding what is its own (<op>PluginParams.h):
//
//   static constexpr char const* kName, kVersion, kLegacyVersion;   creator name, V3 and V2 versions
//   static constexpr int32_t kNbInputs, kNbOutputs;
//   using Kernel = <Op>Kernel;                 the kernel enum (<op>Kernel.h)
//   static constexpr int32_t kKernelCount;     valid ids 0 .. kKernelCount - 1 (named in messages)
//   static bool isValidKernel(int32_t kernel) noexcept;
//   static constexpr float kDefaultEps;
//   static constexpr int32_t kDefaultKernel;
//   static constexpr uint32_t kRecordMagic, kRecordVersion;
//   static constexpr char const* kRecordOwner; the record's name in messages ("TpbLayerNorm plugin")
//
// RowNormOpBase<Traits> is that traits struct plus everything pluginV3Base.h / pluginV2Base.h read from an
// operator except kWhere, checkShapes and enqueue, which each operator's Op (deriving from it) declares
// with TPB_ROW_NORM_OP_MEMBERS and defines in its <op>PluginParams.cpp. Templates with no static data
// members and no function-local statics (see pluginV3Base.h: no STB_GNU_UNIQUE symbol); the constants the
// plumbing reads are members of non-template structs (the traits, RowNormConstants).
#pragma once

#include "NvInferRuntime.h"
#include "elementCount.h"
#include "errorText.h"
#include "pluginFields.h"
#include "pluginLog.h"
#include "pluginRecord.h"
#include "pluginWhere.h"
#include "rowNormTypes.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include <cuda_runtime_api.h>

namespace tpb
{

constexpr char const* kRowNormFieldEps = "eps";       // kFLOAT32 x 1, finite and > 0
constexpr char const* kRowNormFieldKernel = "kernel"; // kINT32 x 1, the operator's kernel id
// kINT32 x 2n, 0 <= n <= kRowNormMaxBands: pairs (upper_kib, kernel) by x's bytes, as Swish's table
constexpr char const* kRowNormFieldKernelTable = "kernel_table";
constexpr int32_t kRowNormFieldCount = 3;

constexpr int32_t kRowNormMaxBands = 8;
constexpr int32_t kRowNormUnboundedKib = kUnboundedKib; // common/pluginFields.h

//! Plugin attributes (trivially copyable: PluginField points straight at the members), defaults from the
//! operator's traits (kDefaultEps, kDefaultKernel). Kernel table: bandCount pairs table[2i] = upper_kib,
//! table[2i + 1] = kernel id; band i covers x tensors of bytes above band i-1's limit and at most
//! upper_kib * 1024, limits ascending, the last kRowNormUnboundedKib; bandCount 0: "kernel" at every size.
//! Entries past 2 * bandCount stay 0.
//!
//! Record: the traits' magic and version; payload float eps, int32 kernel, int32 bandCount, 2 x bandCount
//! int32. 28 + 8 x bandCount bytes in all.
template <typename Traits>
struct RowNormParams
{
    float eps{Traits::kDefaultEps};
    int32_t kernel{Traits::kDefaultKernel};
    int32_t bandCount{0};
    int32_t table[2 * kRowNormMaxBands]{};
};

//! What the plugin plumbing reads and the row norms have alike (a non-template struct: see the top).
struct RowNormConstants
{
    static constexpr int32_t kFieldCount = kRowNormFieldCount;
    static constexpr int32_t kMaxBands = kRowNormMaxBands;
    static constexpr bool kChecksShapesAtConfigure = true;
};

namespace rowNormDetail
{

constexpr char const* kAllowedNames = "\"eps\", \"kernel\", \"kernel_table\"";
constexpr size_t kPayloadHeaderSize = 12; // eps, kernel, bandCount

//! The fields of \p Params (a RowNormParams), in the order of getFieldNames() and getFieldsToSerialize()
//! (common/pluginFields.h); a value, not a static member (see the top).
struct FieldSpecs
{
    PluginFieldSpec at[kRowNormFieldCount];
};

template <typename Params>
constexpr FieldSpecs fieldSpecs() noexcept
{
    return {{{kRowNormFieldEps, nvinfer1::PluginFieldType::kFLOAT32, offsetof(Params, eps)},
        {kRowNormFieldKernel, nvinfer1::PluginFieldType::kINT32, offsetof(Params, kernel)},
        {kRowNormFieldKernelTable, nvinfer1::PluginFieldType::kINT32, offsetof(Params, table), kRowNormMaxBands,
            offsetof(Params, bandCount)}}};
}

inline size_t payloadSize(int32_t bands) noexcept
{
    return kPayloadHeaderSize + static_cast<size_t>(bands) * 2 * sizeof(int32_t);
}

inline int32_t clampedBands(int32_t bandCount) noexcept
{
    return std::max(0, std::min(bandCount, kRowNormMaxBands));
}

//! The element count of \p desc, logged under \p where when refused.
inline bool countOf(
    nvinfer1::PluginTensorDesc const& desc, char const* what, int64_t& count, char const* where) noexcept
{
    ErrorText error;
    if (!checkedElementCount(desc.dims.d, desc.dims.nbDims, count, error, what))
    {
        TPB_LOG_ERROR(where, "%s", error.c_str());
        return false;
    }
    return true;
}

} // namespace rowNormDetail

//! TensorRT tensor type -> kernel dtype; false for types the kernels do not handle (bf16 only on TensorRT >= 10).
inline bool toRowNormDataType(nvinfer1::DataType type, RowNormDataType& dtype) noexcept
{
    switch (type)
    {
    case nvinfer1::DataType::kFLOAT: dtype = RowNormDataType::kFLOAT; return true;
    case nvinfer1::DataType::kHALF: dtype = RowNormDataType::kHALF; return true;
#if NV_TENSORRT_MAJOR >= 10
    case nvinfer1::DataType::kBF16: dtype = RowNormDataType::kBF16; return true;
#endif
    default: return false;
    }
}

//! Build-time shape check, the part the row norms share: \p nbInputs inputs (\p names lists them, as
//! "x, gamma, beta"), x (input 0) of rank >= 1. Logged under \p where otherwise.
inline bool checkRowNormInputs(nvinfer1::Dims const* inputDims, int32_t nbInputs, int32_t expected,
    char const* names, char const* where) noexcept
{
    if (inputDims == nullptr || nbInputs != expected)
    {
        TPB_LOG_ERROR(where, "expected %d inputs (%s), got %d", static_cast<int>(expected), names,
            static_cast<int>(nbInputs));
        return false;
    }
    nvinfer1::Dims const& x = inputDims[0];
    if (x.nbDims < 1)
    {
        TPB_LOG_ERROR(where, "x must have rank >= 1 (normalised over its last dimension), got rank %d",
            static_cast<int>(x.nbDims));
        return false;
    }
    return true;
}

//! Build-time shape check of a weight \p name ([hidden]): rank 1, of \p hidden elements where both are known
//! (-1: not yet). Logged under \p where otherwise.
inline bool checkRowNormWeight(
    nvinfer1::Dims const& weight, char const* name, int64_t hidden, char const* where) noexcept
{
    if (weight.nbDims != 1)
    {
        TPB_LOG_ERROR(where, "%s must have rank 1 ([hidden]), got rank %d", name, static_cast<int>(weight.nbDims));
        return false;
    }
    if (hidden >= 0 && weight.d[0] >= 0 && weight.d[0] != hidden)
    {
        TPB_LOG_ERROR(where, "%s holds %lld elements, x's last dimension (hidden) is %lld", name,
            static_cast<long long>(weight.d[0]), static_cast<long long>(hidden));
        return false;
    }
    return true;
}

//! enqueue's first step: the checked element counts (elementCount.h) of the three inputs, \p what naming
//! each in messages ("enqueue x", ...), and x of rank >= 1. False (logged under \p where) otherwise.
inline bool countRowNormInputs(nvinfer1::PluginTensorDesc const* inputDesc, char const* const (&what)[3],
    int64_t (&counts)[3], char const* where) noexcept
{
    for (int32_t k = 0; k < 3; ++k)
    {
        if (!rowNormDetail::countOf(inputDesc[k], what[k], counts[k], where))
        {
            return false;
        }
    }
    nvinfer1::Dims const& dims = inputDesc[0].dims;
    if (dims.nbDims < 1)
    {
        TPB_LOG_ERROR(where, "x must have rank >= 1, got %d", static_cast<int>(dims.nbDims));
        return false;
    }
    return true;
}

//! enqueue's type step: the kernel dtype of x when all three inputs are of x's (supported) type, and the bytes
//! of x's \p count elements (checked: elementCount.h). False (logged under \p where) otherwise.
inline bool rowNormDataTypeAndBytes(nvinfer1::PluginTensorDesc const* inputDesc, int64_t count,
    RowNormDataType& dtype, int64_t& tensorBytes, char const* where) noexcept
{
    if (!toRowNormDataType(inputDesc[0].type, dtype) || inputDesc[1].type != inputDesc[0].type
        || inputDesc[2].type != inputDesc[0].type)
    {
        TPB_LOG_ERROR(where, "unsupported or mixed input types %d, %d, %d", static_cast<int>(inputDesc[0].type),
            static_cast<int>(inputDesc[1].type), static_cast<int>(inputDesc[2].type));
        return false;
    }
    ErrorText error;
    if (!checkedByteCount(count, rowNormItemSize(dtype), tensorBytes, error, "enqueue x"))
    {
        TPB_LOG_ERROR(where, "%s", error.c_str());
        return false;
    }
    return true;
}

//! enqueue's result for the launch's \p status: 0, or -1 with the CUDA error logged under \p where.
inline int32_t rowNormLaunchResult(cudaError_t status, char const* where) noexcept
{
    if (status != cudaSuccess)
    {
        TPB_LOG_ERROR(where, "kernel launch failed: %s (%s)", cudaGetErrorName(status), cudaGetErrorString(status));
        return -1;
    }
    return 0;
}

//! A row norm's traits (see the top) with what the plugin plumbing (pluginV3Base.h, pluginV2Base.h) reads
//! but kWhere, checkShapes and enqueue: the operator's Op derives from it and adds those.
template <typename Traits>
struct RowNormOpBase : Traits, RowNormConstants
{
    using Params = RowNormParams<Traits>;
    using Kernel = typename Traits::Kernel;
    static_assert(std::is_trivially_copyable<Params>::value, "PluginField and the record copy the params bytewise");

    //! eps finite and > 0, a valid kernel id, a well-formed table; logs the offending value otherwise.
    static bool validate(Params const& params, char const* where) noexcept
    {
        if (!std::isfinite(params.eps) || !(params.eps > 0.0F))
        {
            TPB_LOG_ERROR(where, "field \"%s\" must be finite and > 0, got %g", kRowNormFieldEps,
                static_cast<double>(params.eps));
            return false;
        }
        if (!Traits::isValidKernel(params.kernel))
        {
            TPB_LOG_ERROR(where, "field \"%s\": %d is not a valid kernel id (0 .. %d)", kRowNormFieldKernel,
                static_cast<int>(params.kernel), static_cast<int>(Traits::kKernelCount - 1));
            return false;
        }
        return validateTable(params, where);
    }

    //! The kernel for an x of \p tensorBytes bytes: the band's with a table, else params.kernel.
    static Kernel selectKernel(Params const& params, int64_t tensorBytes) noexcept
    {
        return static_cast<Kernel>(
            selectBandKernel(params.bandCount, params.table, kRowNormMaxBands, params.kernel, tensorBytes));
    }

    //! Read "eps" / "kernel" / "kernel_table" over the defaults in \p params. Refused, with a logged error
    //! naming the field and the allowed names: an unknown or repeated name, a wrong type or length, missing
    //! data, an invalid value, and unless \p build (the V3 runtime phase: the collection is what
    //! getFieldsToSerialize() wrote) a missing field. \p params written only on success.
    static bool parseFields(
        nvinfer1::PluginFieldCollection const* fields, Params& params, char const* where, bool build) noexcept
    {
        constexpr rowNormDetail::FieldSpecs kFields = rowNormDetail::fieldSpecs<Params>();
        return readPluginFields(fields, kFields.at, rowNormDetail::kAllowedNames, params, where, !build, validate);
    }

    //! Field descriptions (data == nullptr) for getFieldNames().
    static nvinfer1::PluginField describeField(int32_t index) noexcept
    {
        constexpr rowNormDetail::FieldSpecs kFields = rowNormDetail::fieldSpecs<Params>();
        return describePluginField(kFields.at[std::max(0, std::min(index, kRowNormFieldCount - 1))]);
    }

    //! The fields of \p params (pointing into it) for the V3 plugin's getFieldsToSerialize(); the table always
    //! (length 0 without one), so the runtime phase can require all three.
    static void serializedFields(Params& params, nvinfer1::PluginField (&fields)[kRowNormFieldCount]) noexcept
    {
        constexpr rowNormDetail::FieldSpecs kFields = rowNormDetail::fieldSpecs<Params>();
        serializePluginFields(kFields.at, params, fields);
    }

    //! supportsFormatCombination: linear, fp32/fp16 (bf16 on TensorRT >= 10), every tensor of input 0's type;
    //! \p desc is the tensor at \p pos, \p first the first input.
    static bool supportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs,
        nvinfer1::PluginTensorDesc const& desc, nvinfer1::PluginTensorDesc const& first,
        Params const& /*params*/) noexcept
    {
        if (nbInputs != Traits::kNbInputs || nbOutputs != Traits::kNbOutputs || pos < 0
            || pos >= nbInputs + nbOutputs)
        {
            return false;
        }
        RowNormDataType unused{};
        if (desc.format != nvinfer1::TensorFormat::kLINEAR || !toRowNormDataType(desc.type, unused))
        {
            return false;
        }
        return pos == 0 || desc.type == first.type;
    }

    //! The timing-cache id's head, eps by its bits and the kernel: "eps=0x...;kernel=k;table=".
    static int writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept
    {
        // eps by its bits: two values that print alike must not share timings.
        uint32_t epsBits = 0;
        std::memcpy(&epsBits, &params.eps, sizeof(epsBits));
        return std::snprintf(head, size, "eps=0x%08" PRIx32 ";kernel=%" PRId32 ";table=", epsBits, params.kernel);
    }

    //! The V2 plugin's record: its size, ...
    static size_t recordSize(Params const& params) noexcept
    {
        return ::tpb::recordSize(rowNormDetail::payloadSize(rowNormDetail::clampedBands(params.bandCount)));
    }

    //! ... its writing (false unless exactly recordSize(params) bytes fit in \p capacity) ...
    static bool writeRecord(Params const& params, void* buffer, size_t capacity) noexcept
    {
        using namespace rowNormDetail;
        int32_t const bands = clampedBands(params.bandCount);
        unsigned char payload[kPayloadHeaderSize + sizeof(params.table)]{};
        std::memcpy(payload, &params.eps, 4);
        std::memcpy(payload + 4, &params.kernel, 4);
        std::memcpy(payload + 8, &bands, 4);
        std::memcpy(payload + kPayloadHeaderSize, params.table, static_cast<size_t>(bands) * 2 * sizeof(int32_t));
        return ::tpb::writeRecord(
            Traits::kRecordMagic, Traits::kRecordVersion, payload, payloadSize(bands), buffer, capacity);
    }

    //! ... and its reading: decode (envelope, structure) and validate; logs what is wrong under \p where.
    static bool readRecord(void const* data, size_t length, Params& params, char const* where) noexcept
    {
        using namespace rowNormDetail;
        ErrorText error;
        RecordPayload payload;
        if (!::tpb::readRecord(
                data, length, Traits::kRecordMagic, Traits::kRecordVersion, Traits::kRecordOwner, payload, error))
        {
            TPB_LOG_ERROR(where, "%s", error.c_str());
            return false;
        }
        if (payload.length < kPayloadHeaderSize)
        {
            TPB_LOG_ERROR(where, "%s record: payload of %zu bytes, expected at least %zu (eps, kernel, bandCount)",
                Traits::kRecordOwner, payload.length, kPayloadHeaderSize);
            return false;
        }
        Params decoded;
        std::memcpy(&decoded.eps, payload.data, 4);
        std::memcpy(&decoded.kernel, payload.data + 4, 4);
        std::memcpy(&decoded.bandCount, payload.data + 8, 4);
        if (decoded.bandCount < 0 || decoded.bandCount > kRowNormMaxBands)
        {
            TPB_LOG_ERROR(where, "%s record: field \"kernel_table\" holds %d bands, at most %d allowed",
                Traits::kRecordOwner, static_cast<int>(decoded.bandCount), static_cast<int>(kRowNormMaxBands));
            return false;
        }
        if (payload.length != payloadSize(decoded.bandCount))
        {
            TPB_LOG_ERROR(where, "%s record: a payload with %d bands must be %zu bytes, got %zu", Traits::kRecordOwner,
                static_cast<int>(decoded.bandCount), payloadSize(decoded.bandCount), payload.length);
            return false;
        }
        std::memcpy(decoded.table, payload.data + kPayloadHeaderSize,
            static_cast<size_t>(decoded.bandCount) * 2 * sizeof(int32_t));
        if (!validate(decoded, where))
        {
            return false;
        }
        params = decoded;
        return true;
    }

private:
    static bool validateTable(Params const& params, char const* where) noexcept
    {
        return validateKernelTable(params.bandCount, params.table, kRowNormMaxBands, Traits::isValidKernel,
            Traits::kKernelCount, "", kRowNormFieldKernelTable, where);
    }
};

} // namespace tpb

//! Inside `struct <Op>Op : RowNormOpBase<<Op>Traits> { ... };`: what each row norm defines itself, in its
//! <op>PluginParams.cpp: the log prefixes (pluginWhere.h: `const PluginWheres <Op>Op::kWhere =
//! pluginWheresOf<<Op>Op>();`), the build-time shape check (logged at configurePlugin, where -1 dims are not
//! known yet; enqueue refuses itself) and the enqueue body both versions share (0 on success, -1 logged
//! otherwise; no mutable state).
#define TPB_ROW_NORM_OP_MEMBERS                                                                                        \
    static const ::tpb::PluginWheres kWhere;                                                                           \
    static bool checkShapes(nvinfer1::Dims const* dims, int32_t nbInputs, char const* where) noexcept;                 \
    static int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,                     \
        void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept
