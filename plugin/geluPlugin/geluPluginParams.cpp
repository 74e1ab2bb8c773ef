#include "geluPluginParams.h"

#include "pluginLog.h"
#include "elementCount.h"
#include "errorText.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <iterator>

namespace tpb
{
namespace
{

// Field order of getFieldNames() and of the V3 plugin's getFieldsToSerialize().
constexpr int32_t kApproximationIndex = 0;
constexpr int32_t kKernelIndex = 1;
constexpr int32_t kTableIndex = 2;
constexpr char const* kFieldNames[kGeluFieldCount] = {kGeluFieldApproximation, kGeluFieldKernel, kGeluFieldKernelTable};
// Listed in every refusal of a name, so the message says what would have been accepted.
constexpr char const* kAllowedNames = "\"approximation\", \"kernel\", \"kernel_table\"";

//! Index into kFieldNames, -1 for any other (case-sensitive) name.
int32_t fieldIndex(char const* name) noexcept
{
    for (int32_t index = 0; index < kGeluFieldCount; ++index)
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
//! themselves are checked by validateGeluTable.
bool readTableField(nvinfer1::PluginField const& field, GeluParams& parsed, char const* where) noexcept
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
    if (bands > kGeluMaxBands)
    {
        TPB_LOG_ERROR(where, "field \"%s\" holds %d bands, at most %d allowed", field.name, static_cast<int>(bands),
            static_cast<int>(kGeluMaxBands));
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

bool validateGeluTable(GeluParams const& params, char const* where) noexcept
{
    if (params.bandCount < 0 || params.bandCount > kGeluMaxBands)
    {
        TPB_LOG_ERROR(where, "field \"%s\" holds %d bands, at most %d allowed", kGeluFieldKernelTable,
            static_cast<int>(params.bandCount), static_cast<int>(kGeluMaxBands));
        return false;
    }
    int32_t previousKib = 0;
    for (int32_t band = 0; band < params.bandCount; ++band)
    {
        int32_t const upperKib = params.table[2 * band];
        int32_t const kernel = params.table[2 * band + 1];
        bool const last = band == params.bandCount - 1;
        if (last && upperKib != kGeluUnboundedKib)
        {
            TPB_LOG_ERROR(where, "field \"%s\": the last band's upper_kib must be %d (unbounded), got %d",
                kGeluFieldKernelTable, static_cast<int>(kGeluUnboundedKib), static_cast<int>(upperKib));
            return false;
        }
        if (!last && upperKib <= previousKib)
        {
            // Also catches a -1 before the last band: bands after an unbounded one could never be reached.
            TPB_LOG_ERROR(where,
                "field \"%s\": band %d's upper_kib must be above %d (limits ascend strictly from 1 KiB), got %d",
                kGeluFieldKernelTable, static_cast<int>(band), static_cast<int>(previousKib),
                static_cast<int>(upperKib));
            return false;
        }
        if (!isValidGeluKernel(kernel))
        {
            TPB_LOG_ERROR(where, "field \"%s\": band %d's kernel %d is not a valid kernel id", kGeluFieldKernelTable,
                static_cast<int>(band), static_cast<int>(kernel));
            return false;
        }
        previousKib = upperKib;
    }
    return true;
}

} // namespace

bool validateGeluParams(GeluParams const& params, char const* where) noexcept
{
    if (!isValidGeluApproximation(params.approximation))
    {
        TPB_LOG_ERROR(where, "field \"%s\" must be %d (erf form) or %d (tanh form), got %d", kGeluFieldApproximation,
            static_cast<int>(kGeluApproximationErf), static_cast<int>(kGeluApproximationTanh),
            static_cast<int>(params.approximation));
        return false;
    }
    if (!isValidGeluKernel(params.kernel))
    {
        TPB_LOG_ERROR(where, "field \"%s\": kernel %d is not a valid kernel id (0 .. %d)", kGeluFieldKernel,
            static_cast<int>(params.kernel), static_cast<int>(kGeluKernelCount - 1));
        return false;
    }
    return validateGeluTable(params, where);
}

GeluKernel selectGeluKernel(GeluParams const& params, int64_t tensorBytes) noexcept
{
    int32_t const bands = std::min(params.bandCount, kGeluMaxBands);
    if (bands <= 0)
    {
        return static_cast<GeluKernel>(params.kernel);
    }
    // Every band but the last has a limit; the last takes whatever is left (its limit is -1).
    for (int32_t band = 0; band + 1 < bands; ++band)
    {
        if (tensorBytes <= int64_t{params.table[2 * band]} * 1024)
        {
            return static_cast<GeluKernel>(params.table[2 * band + 1]);
        }
    }
    return static_cast<GeluKernel>(params.table[2 * bands - 1]);
}

bool parseGeluFields(nvinfer1::PluginFieldCollection const* fields, GeluParams& params, char const* where,
    GeluFieldPolicy policy) noexcept
{
    bool const allRequired = policy == GeluFieldPolicy::kALL_REQUIRED;
    if (fields == nullptr)
    {
        if (allRequired)
        {
            TPB_LOG_ERROR(where, "no field collection (expected %s)", kAllowedNames);
            return false;
        }
        return validateGeluParams(params, where);
    }
    if (fields->nbFields < 0 || (fields->nbFields > 0 && fields->fields == nullptr))
    {
        TPB_LOG_ERROR(where, "malformed field collection (nbFields=%d)", static_cast<int>(fields->nbFields));
        return false;
    }
    // Decode into a copy so that a refused collection leaves the caller's params untouched.
    GeluParams parsed = params;
    bool seen[kGeluFieldCount] = {};
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
            // Names are case-sensitive: "Approximation" is a typo that would otherwise build the erf form.
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
        if (index == kApproximationIndex)
        {
            if (!checkFieldShape(field, nvinfer1::PluginFieldType::kINT32, where))
            {
                return false;
            }
            std::memcpy(&parsed.approximation, field.data, sizeof(int32_t));
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
    }
    for (int32_t index = 0; allRequired && index < kGeluFieldCount; ++index)
    {
        if (!seen[index])
        {
            TPB_LOG_ERROR(where, "field \"%s\" is missing (expected %s)", kFieldNames[index], kAllowedNames);
            return false;
        }
    }
    if (!validateGeluParams(parsed, where))
    {
        return false;
    }
    params = parsed;
    return true;
}

nvinfer1::PluginField describeGeluField(int32_t index) noexcept
{
    if (index == kApproximationIndex)
    {
        return nvinfer1::PluginField(kGeluFieldApproximation, nullptr, nvinfer1::PluginFieldType::kINT32, 1);
    }
    if (index == kKernelIndex)
    {
        return nvinfer1::PluginField(kGeluFieldKernel, nullptr, nvinfer1::PluginFieldType::kINT32, 1);
    }
    // The longest table allowed; any even length up to it (0 included) is accepted.
    return nvinfer1::PluginField(
        kGeluFieldKernelTable, nullptr, nvinfer1::PluginFieldType::kINT32, 2 * kGeluMaxBands);
}

bool readGeluRecord(void const* data, size_t length, GeluParams& params, char const* where) noexcept
{
    ErrorText error;
    GeluParams decoded;
    if (!readGeluRecordPayload(data, length, decoded, error))
    {
        TPB_LOG_ERROR(where, "%s", error.c_str());
        return false;
    }
    if (!validateGeluParams(decoded, where))
    {
        return false;
    }
    params = decoded;
    return true;
}

bool toGeluDataType(nvinfer1::DataType type, GeluDataType& dtype) noexcept
{
    switch (type)
    {
    case nvinfer1::DataType::kFLOAT: dtype = GeluDataType::kFLOAT; return true;
    case nvinfer1::DataType::kHALF: dtype = GeluDataType::kHALF; return true;
#if NV_TENSORRT_MAJOR >= 10
    case nvinfer1::DataType::kBF16: dtype = GeluDataType::kBF16; return true;
#endif
    default: return false;
    }
}

bool geluSupportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs, nvinfer1::TensorFormat format,
    nvinfer1::DataType type, nvinfer1::DataType inputType) noexcept
{
    if (nbInputs != 1 || nbOutputs != 1 || pos < 0 || pos >= nbInputs + nbOutputs)
    {
        return false;
    }
    GeluDataType unused{};
    if (format != nvinfer1::TensorFormat::kLINEAR || !toGeluDataType(type, unused))
    {
        return false;
    }
    return pos == 0 || type == inputType;
}

int32_t enqueueGelu(nvinfer1::PluginTensorDesc const& inputDesc, void const* input, void* output,
    GeluParams const& params, cudaStream_t stream, char const* where) noexcept
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
    GeluDataType dtype{};
    if (!toGeluDataType(inputDesc.type, dtype))
    {
        TPB_LOG_ERROR(where, "unsupported input type %d", static_cast<int>(inputDesc.type));
        return -1;
    }
    // Bytes of one tensor, as the table's limits count them; a count whose bytes overflow is refused.
    int64_t tensorBytes = 0;
    if (!checkedByteCount(count, dtype == GeluDataType::kFLOAT ? 4 : 2, tensorBytes, error, "enqueue input"))
    {
        TPB_LOG_ERROR(where, "%s", error.c_str());
        return -1;
    }
    cudaError_t const status
        = launchGelu(input, output, count, static_cast<GeluApproximation>(params.approximation), dtype, selectGeluKernel(params, tensorBytes), stream);
    if (status != cudaSuccess)
    {
        TPB_LOG_ERROR(where, "kernel launch failed: %s (%s)", cudaGetErrorName(status), cudaGetErrorString(status));
        return -1;
    }
    return 0;
}

// -- GeluOp: what the shared plugin plumbing (common/pluginV3Base.h, common/pluginV2Base.h) reads --

const PluginWheres GeluOp::kWhere = pluginWheresOf<GeluOp>();

//! linear layout, fp32/fp16 (bf16 on TensorRT >= 10), output type = input type: geluSupportsCombination; \p desc is the tensor at \p pos, \p first the first input.
bool GeluOp::supportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs,
    nvinfer1::PluginTensorDesc const& desc, nvinfer1::PluginTensorDesc const& first, Params const& /*params*/) noexcept
{
    return geluSupportsCombination(pos, nbInputs, nbOutputs, desc.format, desc.type, first.type);
}

//! The timing-cache id's head, the approximation and the kernel: "approximation=a;kernel=k;table=".
int GeluOp::writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept
{
    return std::snprintf(head, size, "approximation=%" PRId32 ";kernel=%" PRId32 ";table=", params.approximation,
        params.kernel);
}

//! The V3 plugin's getFieldsToSerialize, pointing into \p params: approximation, kernel, kernel_table (always, length 0 without a table).
void GeluOp::serializedFields(Params& params, nvinfer1::PluginField (&fields)[kFieldCount]) noexcept
{
    fields[0] = nvinfer1::PluginField(
        kGeluFieldApproximation, &params.approximation, nvinfer1::PluginFieldType::kINT32, 1);
    fields[1] = nvinfer1::PluginField(kGeluFieldKernel, &params.kernel, nvinfer1::PluginFieldType::kINT32, 1);
    // Always written (length 0 without a table) so the runtime phase can require all three fields.
    fields[2] = nvinfer1::PluginField(
        kGeluFieldKernelTable, params.table, nvinfer1::PluginFieldType::kINT32, 2 * params.bandCount);
}

nvinfer1::PluginField GeluOp::describeField(int32_t index) noexcept
{
    return describeGeluField(index);
}

//! parseGeluFields; \p build: kDEFAULTS_ALLOWED, else kALL_REQUIRED (the V3 runtime phase).
bool GeluOp::parseFields(
    nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where, bool build) noexcept
{
    return parseGeluFields(
        fc, params, where, build ? GeluFieldPolicy::kDEFAULTS_ALLOWED : GeluFieldPolicy::kALL_REQUIRED);
}

//! The V2 plugin's record (geluRecordSize / writeGeluRecord / readGeluRecord).
size_t GeluOp::recordSize(Params const& params) noexcept
{
    return geluRecordSize(params);
}

bool GeluOp::writeRecord(Params const& params, void* buffer, size_t capacity) noexcept
{
    return writeGeluRecord(params, buffer, capacity);
}

bool GeluOp::readRecord(void const* data, size_t length, Params& params, char const* where) noexcept
{
    return readGeluRecord(data, length, params, where);
}

//! enqueueGelu on the one input and output.
int32_t GeluOp::enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
    void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept
{
    return enqueueGelu(inputDesc[0], inputs[0], outputs[0], launch, stream, where);
}

} // namespace tpb
