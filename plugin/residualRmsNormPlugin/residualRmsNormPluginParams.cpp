#include "residualRmsNormPluginParams.h"

#include "elementCount.h"
#include "errorText.h"
#include "pluginLog.h"
#include "pluginRecord.h"

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

constexpr int32_t kEpsIndex = 0;
constexpr int32_t kKernelIndex = 1;
constexpr int32_t kTableIndex = 2;
constexpr char const* kFieldNames[kResidualRmsNormFieldCount]
    = {kResidualRmsNormFieldEps, kResidualRmsNormFieldKernel, kResidualRmsNormFieldKernelTable};
constexpr char const* kAllowedNames = "\"eps\", \"kernel\", \"kernel_table\"";
constexpr char kOwner[] = "TpbResidualRmsNorm plugin";
constexpr size_t kPayloadHeaderSize = 12; // eps, kernel, bandCount

int32_t fieldIndex(char const* name) noexcept
{
    for (int32_t index = 0; index < kResidualRmsNormFieldCount; ++index)
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

bool checkScalarField(nvinfer1::PluginField const& field, nvinfer1::PluginFieldType expected, char const* where) noexcept
{
    if (field.type != expected)
    {
        TPB_LOG_ERROR(where, "field \"%s\" must be %s, got %s", field.name, fieldTypeName(expected),
            fieldTypeName(field.type));
        return false;
    }
    if (field.length != 1)
    {
        TPB_LOG_ERROR(where, "field \"%s\" must hold exactly 1 value, got %d", field.name, static_cast<int>(field.length));
        return false;
    }
    if (field.data == nullptr)
    {
        TPB_LOG_ERROR(where, "field \"%s\" has no data", field.name);
        return false;
    }
    return true;
}

bool readTableField(nvinfer1::PluginField const& field, ResidualRmsNormParams& parsed, char const* where) noexcept
{
    if (field.type != nvinfer1::PluginFieldType::kINT32)
    {
        TPB_LOG_ERROR(where, "field \"%s\" must be kINT32, got %s", field.name, fieldTypeName(field.type));
        return false;
    }
    if (field.length < 0 || field.length % 2 != 0)
    {
        TPB_LOG_ERROR(where, "field \"%s\" must hold pairs (upper_kib, kernel): an even number of values, got %d",
            field.name, static_cast<int>(field.length));
        return false;
    }
    int32_t const bands = field.length / 2;
    if (bands > kResidualRmsNormMaxBands)
    {
        TPB_LOG_ERROR(where, "field \"%s\" holds %d bands, at most %d allowed", field.name, static_cast<int>(bands),
            static_cast<int>(kResidualRmsNormMaxBands));
        return false;
    }
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

bool validateTable(ResidualRmsNormParams const& params, char const* where) noexcept
{
    if (params.bandCount < 0 || params.bandCount > kResidualRmsNormMaxBands)
    {
        TPB_LOG_ERROR(where, "field \"%s\" holds %d bands, at most %d allowed", kResidualRmsNormFieldKernelTable,
            static_cast<int>(params.bandCount), static_cast<int>(kResidualRmsNormMaxBands));
        return false;
    }
    int32_t previousKib = 0;
    for (int32_t band = 0; band < params.bandCount; ++band)
    {
        int32_t const upperKib = params.table[2 * band];
        int32_t const kernel = params.table[2 * band + 1];
        bool const last = band == params.bandCount - 1;
        if (last && upperKib != kResidualRmsNormUnboundedKib)
        {
            TPB_LOG_ERROR(where, "field \"%s\": the last band's upper_kib must be %d (unbounded), got %d",
                kResidualRmsNormFieldKernelTable, static_cast<int>(kResidualRmsNormUnboundedKib), static_cast<int>(upperKib));
            return false;
        }
        if (!last && upperKib <= previousKib)
        {
            TPB_LOG_ERROR(where,
                "field \"%s\": band %d's upper_kib must be above %d (limits ascend strictly from 1 KiB), got %d",
                kResidualRmsNormFieldKernelTable, static_cast<int>(band), static_cast<int>(previousKib),
                static_cast<int>(upperKib));
            return false;
        }
        if (!isValidResidualRmsNormKernel(kernel))
        {
            TPB_LOG_ERROR(where, "field \"%s\": band %d's kernel %d is not a valid kernel id (0 .. %d)",
                kResidualRmsNormFieldKernelTable, static_cast<int>(band), static_cast<int>(kernel),
                static_cast<int>(kResidualRmsNormKernelCount - 1));
            return false;
        }
        previousKib = upperKib;
    }
    return true;
}

size_t payloadSize(int32_t bands) noexcept
{
    return kPayloadHeaderSize + static_cast<size_t>(bands) * 2 * sizeof(int32_t);
}

int32_t clampedBands(ResidualRmsNormParams const& params) noexcept
{
    return std::max(0, std::min(params.bandCount, kResidualRmsNormMaxBands));
}

//! The element count of \p desc, logged under \p where when refused.
bool countOf(nvinfer1::PluginTensorDesc const& desc, char const* what, int64_t& count, char const* where) noexcept
{
    ErrorText error;
    if (!checkedElementCount(desc.dims.d, desc.dims.nbDims, count, error, what))
    {
        TPB_LOG_ERROR(where, "%s", error.c_str());
        return false;
    }
    return true;
}

} // namespace

size_t residualRmsNormRecordSize(ResidualRmsNormParams const& params) noexcept
{
    return recordSize(payloadSize(clampedBands(params)));
}

bool writeResidualRmsNormRecord(ResidualRmsNormParams const& params, void* buffer, size_t capacity) noexcept
{
    int32_t const bands = clampedBands(params);
    unsigned char payload[kPayloadHeaderSize + sizeof(params.table)]{};
    std::memcpy(payload, &params.eps, 4);
    std::memcpy(payload + 4, &params.kernel, 4);
    std::memcpy(payload + 8, &bands, 4);
    std::memcpy(payload + kPayloadHeaderSize, params.table, static_cast<size_t>(bands) * 2 * sizeof(int32_t));
    return writeRecord(kResidualRmsNormRecordMagic, kResidualRmsNormRecordVersion, payload, payloadSize(bands), buffer, capacity);
}

bool readResidualRmsNormRecord(void const* data, size_t length, ResidualRmsNormParams& params, char const* where) noexcept
{
    ErrorText error;
    RecordPayload payload;
    if (!readRecord(data, length, kResidualRmsNormRecordMagic, kResidualRmsNormRecordVersion, kOwner, payload, error))
    {
        TPB_LOG_ERROR(where, "%s", error.c_str());
        return false;
    }
    if (payload.length < kPayloadHeaderSize)
    {
        TPB_LOG_ERROR(where, "%s record: payload of %zu bytes, expected at least %zu (eps, kernel, bandCount)", kOwner,
            payload.length, kPayloadHeaderSize);
        return false;
    }
    ResidualRmsNormParams decoded;
    std::memcpy(&decoded.eps, payload.data, 4);
    std::memcpy(&decoded.kernel, payload.data + 4, 4);
    std::memcpy(&decoded.bandCount, payload.data + 8, 4);
    if (decoded.bandCount < 0 || decoded.bandCount > kResidualRmsNormMaxBands)
    {
        TPB_LOG_ERROR(where, "%s record: field \"kernel_table\" holds %d bands, at most %d allowed", kOwner,
            static_cast<int>(decoded.bandCount), static_cast<int>(kResidualRmsNormMaxBands));
        return false;
    }
    if (payload.length != payloadSize(decoded.bandCount))
    {
        TPB_LOG_ERROR(where, "%s record: a payload with %d bands must be %zu bytes, got %zu", kOwner,
            static_cast<int>(decoded.bandCount), payloadSize(decoded.bandCount), payload.length);
        return false;
    }
    std::memcpy(decoded.table, payload.data + kPayloadHeaderSize,
        static_cast<size_t>(decoded.bandCount) * 2 * sizeof(int32_t));
    if (!validateResidualRmsNormParams(decoded, where))
    {
        return false;
    }
    params = decoded;
    return true;
}

bool validateResidualRmsNormParams(ResidualRmsNormParams const& params, char const* where) noexcept
{
    if (!std::isfinite(params.eps) || !(params.eps > 0.0F))
    {
        TPB_LOG_ERROR(where, "field \"%s\" must be finite and > 0, got %g", kResidualRmsNormFieldEps,
            static_cast<double>(params.eps));
        return false;
    }
    if (!isValidResidualRmsNormKernel(params.kernel))
    {
        TPB_LOG_ERROR(where, "field \"%s\": %d is not a valid kernel id (0 .. %d)", kResidualRmsNormFieldKernel,
            static_cast<int>(params.kernel), static_cast<int>(kResidualRmsNormKernelCount - 1));
        return false;
    }
    return validateTable(params, where);
}

ResidualRmsNormKernel selectResidualRmsNormKernel(ResidualRmsNormParams const& params, int64_t tensorBytes) noexcept
{
    int32_t const bands = std::min(params.bandCount, kResidualRmsNormMaxBands);
    if (bands <= 0)
    {
        return static_cast<ResidualRmsNormKernel>(params.kernel);
    }
    for (int32_t band = 0; band + 1 < bands; ++band)
    {
        if (tensorBytes <= int64_t{params.table[2 * band]} * 1024)
        {
            return static_cast<ResidualRmsNormKernel>(params.table[2 * band + 1]);
        }
    }
    return static_cast<ResidualRmsNormKernel>(params.table[2 * bands - 1]);
}

bool parseResidualRmsNormFields(nvinfer1::PluginFieldCollection const* fields, ResidualRmsNormParams& params, char const* where,
    ResidualRmsNormFieldPolicy policy) noexcept
{
    bool const allRequired = policy == ResidualRmsNormFieldPolicy::kALL_REQUIRED;
    if (fields == nullptr)
    {
        if (allRequired)
        {
            TPB_LOG_ERROR(where, "no field collection (expected %s)", kAllowedNames);
            return false;
        }
        return validateResidualRmsNormParams(params, where);
    }
    if (fields->nbFields < 0 || (fields->nbFields > 0 && fields->fields == nullptr))
    {
        TPB_LOG_ERROR(where, "malformed field collection (nbFields=%d)", static_cast<int>(fields->nbFields));
        return false;
    }
    ResidualRmsNormParams parsed = params;
    bool seen[kResidualRmsNormFieldCount] = {};
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
            TPB_LOG_ERROR(where, "unknown field \"%s\" (allowed: %s)", field.name, kAllowedNames);
            return false;
        }
        if (seen[index])
        {
            TPB_LOG_ERROR(where, "field \"%s\" given more than once (allowed: %s, each at most once)", field.name,
                kAllowedNames);
            return false;
        }
        seen[index] = true;
        if (index == kEpsIndex)
        {
            if (!checkScalarField(field, nvinfer1::PluginFieldType::kFLOAT32, where))
            {
                return false;
            }
            std::memcpy(&parsed.eps, field.data, sizeof(float));
        }
        else if (index == kKernelIndex)
        {
            if (!checkScalarField(field, nvinfer1::PluginFieldType::kINT32, where))
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
    for (int32_t index = 0; allRequired && index < kResidualRmsNormFieldCount; ++index)
    {
        if (!seen[index])
        {
            TPB_LOG_ERROR(where, "field \"%s\" is missing (expected %s)", kFieldNames[index], kAllowedNames);
            return false;
        }
    }
    if (!validateResidualRmsNormParams(parsed, where))
    {
        return false;
    }
    params = parsed;
    return true;
}

nvinfer1::PluginField describeResidualRmsNormField(int32_t index) noexcept
{
    if (index == kEpsIndex)
    {
        return nvinfer1::PluginField(kResidualRmsNormFieldEps, nullptr, nvinfer1::PluginFieldType::kFLOAT32, 1);
    }
    if (index == kKernelIndex)
    {
        return nvinfer1::PluginField(kResidualRmsNormFieldKernel, nullptr, nvinfer1::PluginFieldType::kINT32, 1);
    }
    return nvinfer1::PluginField(
        kResidualRmsNormFieldKernelTable, nullptr, nvinfer1::PluginFieldType::kINT32, 2 * kResidualRmsNormMaxBands);
}

void residualRmsNormSerializedFields(ResidualRmsNormParams& params, nvinfer1::PluginField (&fields)[kResidualRmsNormFieldCount]) noexcept
{
    fields[kEpsIndex] = nvinfer1::PluginField(kResidualRmsNormFieldEps, &params.eps, nvinfer1::PluginFieldType::kFLOAT32, 1);
    fields[kKernelIndex]
        = nvinfer1::PluginField(kResidualRmsNormFieldKernel, &params.kernel, nvinfer1::PluginFieldType::kINT32, 1);
    // always written (length 0 without a table) so the runtime phase can require all three
    fields[kTableIndex] = nvinfer1::PluginField(
        kResidualRmsNormFieldKernelTable, params.table, nvinfer1::PluginFieldType::kINT32, 2 * clampedBands(params));
}

bool toResidualRmsNormDataType(nvinfer1::DataType type, RowNormDataType& dtype) noexcept
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

bool residualRmsNormSupportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs, nvinfer1::TensorFormat format,
    nvinfer1::DataType type, nvinfer1::DataType inputType) noexcept
{
    if (nbInputs != kResidualRmsNormNbInputs || nbOutputs != kResidualRmsNormNbOutputs || pos < 0 || pos >= nbInputs + nbOutputs)
    {
        return false;
    }
    RowNormDataType unused{};
    if (format != nvinfer1::TensorFormat::kLINEAR || !toResidualRmsNormDataType(type, unused))
    {
        return false;
    }
    return pos == 0 || type == inputType;
}

bool checkResidualRmsNormShapes(nvinfer1::Dims const* inputDims, int32_t nbInputs, char const* where) noexcept
{
    if (inputDims == nullptr || nbInputs != kResidualRmsNormNbInputs)
    {
        TPB_LOG_ERROR(where, "expected %d inputs (x, r, gamma), got %d", static_cast<int>(kResidualRmsNormNbInputs),
            static_cast<int>(nbInputs));
        return false;
    }
    nvinfer1::Dims const& x = inputDims[0];
    nvinfer1::Dims const& r = inputDims[1];
    nvinfer1::Dims const& gamma = inputDims[2];
    if (x.nbDims < 1)
    {
        TPB_LOG_ERROR(where, "x must have rank >= 1 (normalised over its last dimension), got rank %d",
            static_cast<int>(x.nbDims));
        return false;
    }
    if (r.nbDims != x.nbDims)
    {
        TPB_LOG_ERROR(where, "r must have x's shape: rank %d, got rank %d", static_cast<int>(x.nbDims),
            static_cast<int>(r.nbDims));
        return false;
    }
    for (int32_t i = 0; i < x.nbDims; ++i)
    {
        if (x.d[i] >= 0 && r.d[i] >= 0 && x.d[i] != r.d[i])
        {
            TPB_LOG_ERROR(where, "r must have x's shape: dimension %d is %lld in x, %lld in r", static_cast<int>(i),
                static_cast<long long>(x.d[i]), static_cast<long long>(r.d[i]));
            return false;
        }
    }
    int64_t const hidden = x.d[x.nbDims - 1];
    if (gamma.nbDims != 1)
    {
        TPB_LOG_ERROR(where, "gamma must have rank 1 ([hidden]), got rank %d", static_cast<int>(gamma.nbDims));
        return false;
    }
    if (hidden >= 0 && gamma.d[0] >= 0 && gamma.d[0] != hidden)
    {
        TPB_LOG_ERROR(where, "gamma holds %lld elements, x's last dimension (hidden) is %lld",
            static_cast<long long>(gamma.d[0]), static_cast<long long>(hidden));
        return false;
    }
    return true;
}

int32_t enqueueResidualRmsNorm(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
    void* const* outputs, ResidualRmsNormParams const& params, cudaStream_t stream, char const* where) noexcept
{
    int64_t count = 0;
    int64_t residualCount = 0;
    int64_t gammaCount = 0;
    if (!countOf(inputDesc[0], "enqueue x", count, where) || !countOf(inputDesc[1], "enqueue r", residualCount, where)
        || !countOf(inputDesc[2], "enqueue gamma", gammaCount, where))
    {
        return -1;
    }
    nvinfer1::Dims const& dims = inputDesc[0].dims;
    if (dims.nbDims < 1)
    {
        TPB_LOG_ERROR(where, "x must have rank >= 1, got %d", static_cast<int>(dims.nbDims));
        return -1;
    }
    if (residualCount != count)
    {
        TPB_LOG_ERROR(where, "r must have x's shape: %lld elements, x has %lld", static_cast<long long>(residualCount),
            static_cast<long long>(count));
        return -1;
    }
    if (count == 0)
    {
        return 0; // zero rows (or hidden 0): nothing to compute
    }
    int64_t const hidden = dims.d[dims.nbDims - 1];
    if (gammaCount != hidden)
    {
        TPB_LOG_ERROR(where, "gamma must hold hidden = %lld elements, got %lld", static_cast<long long>(hidden),
            static_cast<long long>(gammaCount));
        return -1;
    }
    RowNormDataType dtype{};
    if (!toResidualRmsNormDataType(inputDesc[0].type, dtype) || inputDesc[1].type != inputDesc[0].type
        || inputDesc[2].type != inputDesc[0].type)
    {
        TPB_LOG_ERROR(where, "unsupported or mixed input types %d, %d, %d", static_cast<int>(inputDesc[0].type),
            static_cast<int>(inputDesc[1].type), static_cast<int>(inputDesc[2].type));
        return -1;
    }
    ErrorText error;
    int64_t tensorBytes = 0;
    if (!checkedByteCount(count, rowNormItemSize(dtype), tensorBytes, error, "enqueue x"))
    {
        TPB_LOG_ERROR(where, "%s", error.c_str());
        return -1;
    }
    cudaError_t const status = launchResidualRmsNorm(inputs[0], inputs[1], inputs[2], outputs[0], outputs[1],
        count / hidden, hidden, params.eps, dtype, selectResidualRmsNormKernel(params, tensorBytes), stream);
    if (status != cudaSuccess)
    {
        TPB_LOG_ERROR(where, "kernel launch failed: %s (%s)", cudaGetErrorName(status), cudaGetErrorString(status));
        return -1;
    }
    return 0;
}

// -- ResidualRmsNormOp: what the shared plugin plumbing (common/pluginV3Base.h, common/pluginV2Base.h) reads --

const PluginWheres ResidualRmsNormOp::kWhere = pluginWheresOf<ResidualRmsNormOp>();

bool ResidualRmsNormOp::checkShapes(nvinfer1::Dims const* dims, int32_t nbInputs, char const* where) noexcept
{
    return checkResidualRmsNormShapes(dims, nbInputs, where);
}

//! residualRmsNormSupportsCombination; \p desc is the tensor at \p pos, \p first the first input.
bool ResidualRmsNormOp::supportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs,
    nvinfer1::PluginTensorDesc const& desc, nvinfer1::PluginTensorDesc const& first, Params const& /*params*/) noexcept
{
    return residualRmsNormSupportsCombination(pos, nbInputs, nbOutputs, desc.format, desc.type, first.type);
}

//! The timing-cache id's head, eps by its bits and the kernel: "eps=0x...;kernel=k;table=".
int ResidualRmsNormOp::writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept
{
    // eps by its bits: two values that print alike must not share timings.
    uint32_t epsBits = 0;
    std::memcpy(&epsBits, &params.eps, sizeof(epsBits));
    return std::snprintf(head, size, "eps=0x%08" PRIx32 ";kernel=%" PRId32 ";table=", epsBits, params.kernel);
}

//! The V3 plugin's getFieldsToSerialize, pointing into \p params: residualRmsNormSerializedFields.
void ResidualRmsNormOp::serializedFields(Params& params, nvinfer1::PluginField (&fields)[kFieldCount]) noexcept
{
    residualRmsNormSerializedFields(params, fields);
}

nvinfer1::PluginField ResidualRmsNormOp::describeField(int32_t index) noexcept
{
    return describeResidualRmsNormField(index);
}

//! parseResidualRmsNormFields; \p build: kDEFAULTS_ALLOWED, else kALL_REQUIRED (the V3 runtime phase).
bool ResidualRmsNormOp::parseFields(
    nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where, bool build) noexcept
{
    return parseResidualRmsNormFields(
        fc, params, where, build ? ResidualRmsNormFieldPolicy::kDEFAULTS_ALLOWED : ResidualRmsNormFieldPolicy::kALL_REQUIRED);
}

//! The V2 plugin's record (residualRmsNormRecordSize / writeResidualRmsNormRecord / readResidualRmsNormRecord).
size_t ResidualRmsNormOp::recordSize(Params const& params) noexcept
{
    return residualRmsNormRecordSize(params);
}

bool ResidualRmsNormOp::writeRecord(Params const& params, void* buffer, size_t capacity) noexcept
{
    return writeResidualRmsNormRecord(params, buffer, capacity);
}

bool ResidualRmsNormOp::readRecord(void const* data, size_t length, Params& params, char const* where) noexcept
{
    return readResidualRmsNormRecord(data, length, params, where);
}

//! enqueueResidualRmsNorm.
int32_t ResidualRmsNormOp::enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
    void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept
{
    return enqueueResidualRmsNorm(inputDesc, inputs, outputs, launch, stream, where);
}

} // namespace tpb
