#include "swishPluginParams.h"

#include "pluginLog.h"
#include "elementCount.h"
#include "errorText.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>

namespace tpb
{
namespace
{

// Field order of getFieldNames() and of the V3 plugin's getFieldsToSerialize().
constexpr int32_t kBetaIndex = 0;
constexpr int32_t kKernelIndex = 1;
constexpr int32_t kTableIndex = 2;
constexpr int32_t kFormatsIndex = 3;
constexpr char const* kFieldNames[kSwishFieldCount]
    = {kSwishFieldBeta, kSwishFieldKernel, kSwishFieldKernelTable, kSwishFieldFormats};
// Listed in every refusal of a name, so the message says what would have been accepted.
constexpr char const* kAllowedNames = "\"beta\", \"kernel\", \"kernel_table\", \"formats\"";

//! Index into kFieldNames, -1 for any other (case-sensitive) name.
int32_t fieldIndex(char const* name) noexcept
{
    for (int32_t index = 0; index < kSwishFieldCount; ++index)
    {
        if (std::strcmp(name, kFieldNames[index]) == 0)
        {
            return index;
        }
    }
    return -1;
}

char const* fieldTypeName(nvinfer1::PluginFieldType type) noexcept
{
    switch (type)
    {
    case nvinfer1::PluginFieldType::kFLOAT16: return "kFLOAT16";
    case nvinfer1::PluginFieldType::kFLOAT32: return "kFLOAT32";
    case nvinfer1::PluginFieldType::kFLOAT64: return "kFLOAT64";
    case nvinfer1::PluginFieldType::kINT8: return "kINT8";
    case nvinfer1::PluginFieldType::kINT16: return "kINT16";
    case nvinfer1::PluginFieldType::kINT32: return "kINT32";
    case nvinfer1::PluginFieldType::kCHAR: return "kCHAR";
    default: return "another type";
    }
}

bool checkFieldShape(nvinfer1::PluginField const& field, nvinfer1::PluginFieldType expected, char const* where) noexcept
{
    if (field.type != expected)
    {
        TPB_LOG_ERROR(where, "field \"%s\" must be %s, got %s", field.name, fieldTypeName(expected),
            fieldTypeName(field.type));
        return false;
    }
    if (field.length != 1)
    {
        TPB_LOG_ERROR(where, "field \"%s\" must hold exactly 1 value, got %d", field.name,
            static_cast<int>(field.length));
        return false;
    }
    if (field.data == nullptr)
    {
        TPB_LOG_ERROR(where, "field \"%s\" has no data", field.name);
        return false;
    }
    return true;
}

//! Copy "kernel_table" into \p parsed (bandCount and the pairs, the rest zeroed); the values
//! themselves are checked by validateSwishTable.
bool readTableField(nvinfer1::PluginField const& field, SwishParams& parsed, char const* where) noexcept
{
    if (field.type != nvinfer1::PluginFieldType::kINT32)
    {
        TPB_LOG_ERROR(where, "field \"%s\" must be %s, got %s", field.name,
            fieldTypeName(nvinfer1::PluginFieldType::kINT32), fieldTypeName(field.type));
        return false;
    }
    if (field.length < 0 || field.length % 2 != 0)
    {
        TPB_LOG_ERROR(where, "field \"%s\" must hold pairs (upper_kib, kernel): an even number of values, got %d",
            field.name, static_cast<int>(field.length));
        return false;
    }
    int32_t const bands = field.length / 2;
    if (bands > kSwishMaxBands)
    {
        TPB_LOG_ERROR(where, "field \"%s\" holds %d bands, at most %d allowed", field.name, static_cast<int>(bands),
            static_cast<int>(kSwishMaxBands));
        return false;
    }
    // Length 0 is "no table" and may come without data; a table needs its values.
    if (bands > 0 && field.data == nullptr)
    {
        TPB_LOG_ERROR(where, "field \"%s\" has no data", field.name);
        return false;
    }
    parsed.bandCount = bands;
    std::fill(std::begin(parsed.table), std::end(parsed.table), 0);
    if (bands > 0)
    {
        std::memcpy(parsed.table, field.data, sizeof(int32_t) * static_cast<size_t>(field.length));
    }
    return true;
}

bool validateSwishTable(SwishParams const& params, char const* where) noexcept
{
    if (params.bandCount < 0 || params.bandCount > kSwishMaxBands)
    {
        TPB_LOG_ERROR(where, "field \"%s\" holds %d bands, at most %d allowed", kSwishFieldKernelTable,
            static_cast<int>(params.bandCount), static_cast<int>(kSwishMaxBands));
        return false;
    }
    int32_t previousKib = 0;
    for (int32_t band = 0; band < params.bandCount; ++band)
    {
        int32_t const upperKib = params.table[2 * band];
        int32_t const kernel = params.table[2 * band + 1];
        bool const last = band == params.bandCount - 1;
        if (last && upperKib != kSwishUnboundedKib)
        {
            TPB_LOG_ERROR(where, "field \"%s\": the last band's upper_kib must be %d (unbounded), got %d",
                kSwishFieldKernelTable, static_cast<int>(kSwishUnboundedKib), static_cast<int>(upperKib));
            return false;
        }
        if (!last && upperKib <= previousKib)
        {
            // Also catches a -1 before the last band: bands after an unbounded one could never be reached.
            TPB_LOG_ERROR(where,
                "field \"%s\": band %d's upper_kib must be above %d (limits ascend strictly from 1 KiB), got %d",
                kSwishFieldKernelTable, static_cast<int>(band), static_cast<int>(previousKib),
                static_cast<int>(upperKib));
            return false;
        }
        if (!isValidSwishKernel(kernel))
        {
            TPB_LOG_ERROR(where, "field \"%s\": band %d's kernel %d is not a valid kernel id", kSwishFieldKernelTable,
                static_cast<int>(band), static_cast<int>(kernel));
            return false;
        }
        previousKib = upperKib;
    }
    return true;
}

} // namespace

bool validateSwishParams(SwishParams const& params, char const* where) noexcept
{
    if (!std::isfinite(params.beta))
    {
        TPB_LOG_ERROR(where, "beta must be finite, got %g", static_cast<double>(params.beta));
        return false;
    }
    if (!isValidSwishKernel(params.kernel))
    {
        // Not a range: retired ids inside [0, kSwishKernelCount) are refused too.
        TPB_LOG_ERROR(where, "kernel %d is not a valid kernel id (0 .. %d, retired ids excluded)",
            static_cast<int>(params.kernel), static_cast<int>(kSwishKernelCount - 1));
        return false;
    }
    if (params.formats != kSwishFormatsLinearOnly && params.formats != kSwishFormatsAnyLayout)
    {
        TPB_LOG_ERROR(where, "field \"%s\" must be %d (linear only) or %d (any layout), got %d", kSwishFieldFormats,
            static_cast<int>(kSwishFormatsLinearOnly), static_cast<int>(kSwishFormatsAnyLayout),
            static_cast<int>(params.formats));
        return false;
    }
    return validateSwishTable(params, where);
}

SwishKernel selectSwishKernel(SwishParams const& params, int64_t tensorBytes) noexcept
{
    int32_t const bands = std::min(params.bandCount, kSwishMaxBands);
    if (bands <= 0)
    {
        return static_cast<SwishKernel>(params.kernel);
    }
    // Every band but the last has a limit; the last takes whatever is left (its limit is -1).
    for (int32_t band = 0; band + 1 < bands; ++band)
    {
        if (tensorBytes <= int64_t{params.table[2 * band]} * 1024)
        {
            return static_cast<SwishKernel>(params.table[2 * band + 1]);
        }
    }
    return static_cast<SwishKernel>(params.table[2 * bands - 1]);
}

bool parseSwishFields(nvinfer1::PluginFieldCollection const* fields, SwishParams& params, char const* where,
    SwishFieldPolicy policy) noexcept
{
    bool const allRequired = policy == SwishFieldPolicy::kALL_REQUIRED;
    if (fields == nullptr)
    {
        if (allRequired)
        {
            TPB_LOG_ERROR(where, "no field collection (expected %s)", kAllowedNames);
            return false;
        }
        return validateSwishParams(params, where);
    }
    if (fields->nbFields < 0 || (fields->nbFields > 0 && fields->fields == nullptr))
    {
        TPB_LOG_ERROR(where, "malformed field collection (nbFields=%d)", static_cast<int>(fields->nbFields));
        return false;
    }
    // Decode into a copy so that a refused collection leaves the caller's params untouched.
    SwishParams parsed = params;
    bool seen[kSwishFieldCount] = {};
    for (int32_t i = 0; i < fields->nbFields; ++i)
    {
        nvinfer1::PluginField const& field = fields->fields[i];
        if (field.name == nullptr)
        {
            TPB_LOG_ERROR(where, "field %d has no name", static_cast<int>(i));
            return false;
        }
        int32_t const index = fieldIndex(field.name);
        if (index < 0)
        {
            // Names are case-sensitive: "Beta" is a typo that would otherwise build beta = 1.
            TPB_LOG_ERROR(where, "unknown field \"%s\" (allowed: %s)", field.name, kAllowedNames);
            return false;
        }
        if (seen[index])
        {
            TPB_LOG_ERROR(
                where, "field \"%s\" given more than once (allowed: %s, each at most once)", field.name, kAllowedNames);
            return false;
        }
        seen[index] = true;
        if (index == kBetaIndex)
        {
            if (!checkFieldShape(field, nvinfer1::PluginFieldType::kFLOAT32, where))
            {
                return false;
            }
            std::memcpy(&parsed.beta, field.data, sizeof(float));
        }
        else if (index == kKernelIndex)
        {
            if (!checkFieldShape(field, nvinfer1::PluginFieldType::kINT32, where))
            {
                return false;
            }
            std::memcpy(&parsed.kernel, field.data, sizeof(int32_t));
        }
        else if (index == kTableIndex && !readTableField(field, parsed, where))
        {
            return false;
        }
        else if (index == kFormatsIndex)
        {
            if (!checkFieldShape(field, nvinfer1::PluginFieldType::kINT32, where))
            {
                return false;
            }
            std::memcpy(&parsed.formats, field.data, sizeof(int32_t));
        }
    }
    for (int32_t index = 0; allRequired && index < kSwishFieldCount; ++index)
    {
        if (!seen[index] && index != kFormatsIndex) // formats: absent from V3 engines serialized before it
        {
            TPB_LOG_ERROR(where, "field \"%s\" is missing (expected %s)", kFieldNames[index], kAllowedNames);
            return false;
        }
    }
    if (!validateSwishParams(parsed, where))
    {
        return false;
    }
    params = parsed;
    return true;
}

nvinfer1::PluginField describeSwishField(int32_t index) noexcept
{
    if (index == kBetaIndex)
    {
        return nvinfer1::PluginField(kSwishFieldBeta, nullptr, nvinfer1::PluginFieldType::kFLOAT32, 1);
    }
    if (index == kKernelIndex)
    {
        return nvinfer1::PluginField(kSwishFieldKernel, nullptr, nvinfer1::PluginFieldType::kINT32, 1);
    }
    if (index == kFormatsIndex)
    {
        return nvinfer1::PluginField(kSwishFieldFormats, nullptr, nvinfer1::PluginFieldType::kINT32, 1);
    }
    // The longest table allowed; any even length up to it (0 included) is accepted.
    return nvinfer1::PluginField(
        kSwishFieldKernelTable, nullptr, nvinfer1::PluginFieldType::kINT32, 2 * kSwishMaxBands);
}

bool readSwishRecord(void const* data, size_t length, SwishParams& params, char const* where) noexcept
{
    ErrorText error;
    SwishParams decoded;
    if (!readSwishRecordPayload(data, length, decoded, error))
    {
        TPB_LOG_ERROR(where, "%s", error.c_str());
        return false;
    }
    if (!validateSwishParams(decoded, where))
    {
        return false;
    }
    params = decoded;
    return true;
}

bool toSwishDataType(nvinfer1::DataType type, SwishDataType& dtype) noexcept
{
    switch (type)
    {
    case nvinfer1::DataType::kFLOAT: dtype = SwishDataType::kFLOAT; return true;
    case nvinfer1::DataType::kHALF: dtype = SwishDataType::kHALF; return true;
#if NV_TENSORRT_MAJOR >= 10
    case nvinfer1::DataType::kBF16: dtype = SwishDataType::kBF16; return true;
#endif
    default: return false;
    }
}

int32_t swishFormatVector(nvinfer1::TensorFormat format, nvinfer1::DataType type) noexcept
{
    using nvinfer1::TensorFormat;
    bool const half = type == nvinfer1::DataType::kHALF;
    bool const single = type == nvinfer1::DataType::kFLOAT;
    switch (format)
    {
    case TensorFormat::kLINEAR: return 1;
    case TensorFormat::kCHW2: return half ? 2 : 0;
    case TensorFormat::kCHW4: return half ? 4 : 0;
    case TensorFormat::kHWC8: return half ? 8 : 0;
    case TensorFormat::kCHW16: return half ? 16 : 0;
    case TensorFormat::kHWC16: return half ? 16 : 0;
    case TensorFormat::kCHW32: return half || single ? 32 : 0;
    case TensorFormat::kHWC: return single ? 1 : 0;
    default: return 0;
    }
}

bool swishSupportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs, nvinfer1::TensorFormat format,
    nvinfer1::DataType type, nvinfer1::DataType inputType, nvinfer1::TensorFormat inputFormat, int32_t rank,
    int32_t formats) noexcept
{
    if (nbInputs != 1 || nbOutputs != 1 || pos < 0 || pos >= nbInputs + nbOutputs)
    {
        return false;
    }
    SwishDataType unused{};
    if (!toSwishDataType(type, unused))
    {
        return false;
    }
    if (format != nvinfer1::TensorFormat::kLINEAR
        && (formats != kSwishFormatsAnyLayout || rank < 3 || swishFormatVector(format, type) == 0))
    {
        return false;
    }
    return pos == 0 || (type == inputType && format == inputFormat);
}

int32_t enqueueSwish(nvinfer1::PluginTensorDesc const& inputDesc, void const* input, void* output,
    SwishParams const& params, cudaStream_t stream, char const* where) noexcept
{
    nvinfer1::Dims const& dims = inputDesc.dims;
    ErrorText error;
    int64_t count = 0;
    if (!checkedElementCount(dims.d, dims.nbDims, count, error, "enqueue input"))
    {
        TPB_LOG_ERROR(where, "%s", error.c_str());
        return -1;
    }
    if (count == 0)
    {
        return 0; // a dimension is 0: nothing to compute (never a wrapped product: see elementCount.h)
    }
    // a vectorized format's allocation: the channel dim (rank - 3, C of NCHW) rounded up to its vector
    int32_t const vector = swishFormatVector(inputDesc.format, inputDesc.type);
    if (vector == 0 || (vector > 1 && dims.nbDims < 3))
    {
        TPB_LOG_ERROR(where, "unsupported tensor format %d for type %d at rank %d", static_cast<int>(inputDesc.format),
            static_cast<int>(inputDesc.type), static_cast<int>(dims.nbDims));
        return -1;
    }
    if (vector > 1)
    {
        nvinfer1::Dims padded = dims;
        int32_t const channel = dims.nbDims - 3;
        padded.d[channel] = static_cast<std::remove_reference_t<decltype(padded.d[0])>>((dims.d[channel] + vector - 1) / vector * vector);
        if (!checkedElementCount(padded.d, padded.nbDims, count, error, "enqueue input (padded channels)"))
        {
            TPB_LOG_ERROR(where, "%s", error.c_str());
            return -1;
        }
    }
    SwishDataType dtype{};
    if (!toSwishDataType(inputDesc.type, dtype))
    {
        TPB_LOG_ERROR(where, "unsupported input type %d", static_cast<int>(inputDesc.type));
        return -1;
    }
    // Bytes of one tensor, as the table's limits count them; a count whose bytes overflow is refused.
    int64_t tensorBytes = 0;
    if (!checkedByteCount(count, dtype == SwishDataType::kFLOAT ? 4 : 2, tensorBytes, error, "enqueue input"))
    {
        TPB_LOG_ERROR(where, "%s", error.c_str());
        return -1;
    }
    cudaError_t const status
        = launchSwish(input, output, count, params.beta, dtype, selectSwishKernel(params, tensorBytes), stream);
    if (status != cudaSuccess)
    {
        TPB_LOG_ERROR(where, "kernel launch failed: %s (%s)", cudaGetErrorName(status), cudaGetErrorString(status));
        return -1;
    }
    return 0;
}

// -- SwishOp: what the shared plugin plumbing (common/pluginV3Base.h, common/pluginV2Base.h) reads --

const PluginWheres SwishOp::kWhere = pluginWheresOf<SwishOp>();

//! types and the layout (linear, or any layout with formats = kSwishFormatsAnyLayout): swishSupportsCombination; \p desc is the tensor at \p pos, \p first the first input.
bool SwishOp::supportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs,
    nvinfer1::PluginTensorDesc const& desc, nvinfer1::PluginTensorDesc const& first, Params const& params) noexcept
{
    return swishSupportsCombination(pos, nbInputs, nbOutputs, desc.format, desc.type, first.type, first.format,
        desc.dims.nbDims, params.formats);
}

//! The timing-cache id's head, beta by its bits and the kernel: "beta=0x...;kernel=k;table=".
int SwishOp::writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept
{
    // beta by its bits: two betas that print alike must not share timings.
    uint32_t betaBits = 0;
    std::memcpy(&betaBits, &params.beta, sizeof(betaBits));
    return std::snprintf(head, size, "beta=0x%08" PRIx32 ";kernel=%" PRId32 ";table=", betaBits, params.kernel);
}

//! The V3 plugin's getFieldsToSerialize, pointing into \p params: beta, kernel, kernel_table (always, length 0 without a table), formats.
void SwishOp::serializedFields(Params& params, nvinfer1::PluginField (&fields)[kFieldCount]) noexcept
{
    fields[0] = nvinfer1::PluginField(kSwishFieldBeta, &params.beta, nvinfer1::PluginFieldType::kFLOAT32, 1);
    fields[1] = nvinfer1::PluginField(kSwishFieldKernel, &params.kernel, nvinfer1::PluginFieldType::kINT32, 1);
    // Always written (length 0 without a table) so the runtime phase can require them.
    fields[2] = nvinfer1::PluginField(
        kSwishFieldKernelTable, params.table, nvinfer1::PluginFieldType::kINT32, 2 * params.bandCount);
    fields[3] = nvinfer1::PluginField(kSwishFieldFormats, &params.formats, nvinfer1::PluginFieldType::kINT32, 1);
}

nvinfer1::PluginField SwishOp::describeField(int32_t index) noexcept
{
    return describeSwishField(index);
}

//! parseSwishFields; \p build: kDEFAULTS_ALLOWED, else kALL_REQUIRED (the V3 runtime phase).
bool SwishOp::parseFields(
    nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where, bool build) noexcept
{
    return parseSwishFields(
        fc, params, where, build ? SwishFieldPolicy::kDEFAULTS_ALLOWED : SwishFieldPolicy::kALL_REQUIRED);
}

//! The V2 plugin's record (swishRecordSize / writeSwishRecord / readSwishRecord).
size_t SwishOp::recordSize(Params const& params) noexcept
{
    return swishRecordSize(params);
}

bool SwishOp::writeRecord(Params const& params, void* buffer, size_t capacity) noexcept
{
    return writeSwishRecord(params, buffer, capacity);
}

bool SwishOp::readRecord(void const* data, size_t length, Params& params, char const* where) noexcept
{
    return readSwishRecord(data, length, params, where);
}

//! enqueueSwish on the one input and output.
int32_t SwishOp::enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
    void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept
{
    return enqueueSwish(inputDesc[0], inputs[0], outputs[0], launch, stream, where);
}

} // namespace tpb
