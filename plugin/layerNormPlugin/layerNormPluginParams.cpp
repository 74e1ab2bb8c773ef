#include "layerNormPluginParams.h"

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
constexpr char const* kFieldNames[kLayerNormFieldCount]
    = {kLayerNormFieldEps, kLayerNormFieldKernel, kLayerNormFieldKernelTable};
constexpr char const* kAllowedNames = "\"eps\", \"kernel\", \"kernel_table\"";
constexpr char kOwner[] = "TpbLayerNorm plugin";
constexpr size_t kPayloadHeaderSize = 12; // eps, kernel, bandCount

int32_t fieldIndex(char const* name) noexcept
{
    for (int32_t index = 0; index < kLayerNormFieldCount; ++index)
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

bool readTableField(nvinfer1::PluginField const& field, LayerNormParams& parsed, char const* where) noexcept
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
    if (bands > kLayerNormMaxBands)
    {
        TPB_LOG_ERROR(where, "field \"%s\" holds %d bands, at most %d allowed", field.name, static_cast<int>(bands),
            static_cast<int>(kLayerNormMaxBands));
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

bool validateTable(LayerNormParams const& params, char const* where) noexcept
{
    if (params.bandCount < 0 || params.bandCount > kLayerNormMaxBands)
    {
        TPB_LOG_ERROR(where, "field \"%s\" holds %d bands, at most %d allowed", kLayerNormFieldKernelTable,
            static_cast<int>(params.bandCount), static_cast<int>(kLayerNormMaxBands));
        return false;
    }
    int32_t previousKib = 0;
    for (int32_t band = 0; band < params.bandCount; ++band)
    {
        int32_t const upperKib = params.table[2 * band];
        int32_t const kernel = params.table[2 * band + 1];
        bool const last = band == params.bandCount - 1;
        if (last && upperKib != kLayerNormUnboundedKib)
        {
            TPB_LOG_ERROR(where, "field \"%s\": the last band's upper_kib must be %d (unbounded), got %d",
                kLayerNormFieldKernelTable, static_cast<int>(kLayerNormUnboundedKib), static_cast<int>(upperKib));
            return false;
        }
        if (!last && upperKib <= previousKib)
        {
            TPB_LOG_ERROR(where,
                "field \"%s\": band %d's upper_kib must be above %d (limits ascend strictly from 1 KiB), got %d",
                kLayerNormFieldKernelTable, static_cast<int>(band), static_cast<int>(previousKib),
                static_cast<int>(upperKib));
            return false;
        }
        if (!isValidLayerNormKernel(kernel))
        {
            TPB_LOG_ERROR(where, "field \"%s\": band %d's kernel %d is not a valid kernel id (0 .. %d)",
                kLayerNormFieldKernelTable, static_cast<int>(band), static_cast<int>(kernel),
                static_cast<int>(kLayerNormKernelCount - 1));
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

int32_t clampedBands(LayerNormParams const& params) noexcept
{
    return std::max(0, std::min(params.bandCount, kLayerNormMaxBands));
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

size_t layerNormRecordSize(LayerNormParams const& params) noexcept
{
    return recordSize(payloadSize(clampedBands(params)));
}

bool writeLayerNormRecord(LayerNormParams const& params, void* buffer, size_t capacity) noexcept
{
    int32_t const bands = clampedBands(params);
    unsigned char payload[kPayloadHeaderSize + sizeof(params.table)]{};
    std::memcpy(payload, &params.eps, 4);
    std::memcpy(payload + 4, &params.kernel, 4);
    std::memcpy(payload + 8, &bands, 4);
    std::memcpy(payload + kPayloadHeaderSize, params.table, static_cast<size_t>(bands) * 2 * sizeof(int32_t));
    return writeRecord(kLayerNormRecordMagic, kLayerNormRecordVersion, payload, payloadSize(bands), buffer, capacity);
}

bool readLayerNormRecord(void const* data, size_t length, LayerNormParams& params, char const* where) noexcept
{
    ErrorText error;
    RecordPayload payload;
    if (!readRecord(data, length, kLayerNormRecordMagic, kLayerNormRecordVersion, kOwner, payload, error))
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
    LayerNormParams decoded;
    std::memcpy(&decoded.eps, payload.data, 4);
    std::memcpy(&decoded.kernel, payload.data + 4, 4);
    std::memcpy(&decoded.bandCount, payload.data + 8, 4);
    if (decoded.bandCount < 0 || decoded.bandCount > kLayerNormMaxBands)
    {
        TPB_LOG_ERROR(where, "%s record: field \"kernel_table\" holds %d bands, at most %d allowed", kOwner,
            static_cast<int>(decoded.bandCount), static_cast<int>(kLayerNormMaxBands));
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
    if (!validateLayerNormParams(decoded, where))
    {
        return false;
    }
    params = decoded;
    return true;
}

bool validateLayerNormParams(LayerNormParams const& params, char const* where) noexcept
{
    if (!std::isfinite(params.eps) || !(params.eps > 0.0F))
    {
        TPB_LOG_ERROR(where, "field \"%s\" must be finite and > 0, got %g", kLayerNormFieldEps,
            static_cast<double>(params.eps));
        return false;
    }
    if (!isValidLayerNormKernel(params.kernel))
    {
        TPB_LOG_ERROR(where, "field \"%s\": %d is not a valid kernel id (0 .. %d)", kLayerNormFieldKernel,
            static_cast<int>(params.kernel), static_cast<int>(kLayerNormKernelCount - 1));
        return false;
    }
    return validateTable(params, where);
}

LayerNormKernel selectLayerNormKernel(LayerNormParams const& params, int64_t tensorBytes) noexcept
{
    int32_t const bands = std::min(params.bandCount, kLayerNormMaxBands);
    if (bands <= 0)
    {
        return static_cast<LayerNormKernel>(params.kernel);
    }
    for (int32_t band = 0; band + 1 < bands; ++band)
    {
        if (tensorBytes <= int64_t{params.table[2 * band]} * 1024)
        {
            return static_cast<LayerNormKernel>(params.table[2 * band + 1]);
        }
    }
    return static_cast<LayerNormKernel>(params.table[2 * bands - 1]);
}

bool parseLayerNormFields(nvinfer1::PluginFieldCollection const* fields, LayerNormParams& params, char const* where,
    LayerNormFieldPolicy policy) noexcept
{
    bool const allRequired = policy == LayerNormFieldPolicy::kALL_REQUIRED;
    if (fields == nullptr)
    {
        if (allRequired)
        {
            TPB_LOG_ERROR(where, "no field collection (expected %s)", kAllowedNames);
            return false;
        }
        return validateLayerNormParams(params, where);
    }
    if (fields->nbFields < 0 || (fields->nbFields > 0 && fields->fields == nullptr))
    {
        TPB_LOG_ERROR(where, "malformed field collection (nbFields=%d)", static_cast<int>(fields->nbFields));
        return false;
    }
    LayerNormParams parsed = params;
    bool seen[kLayerNormFieldCount] = {};
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
    for (int32_t index = 0; allRequired && index < kLayerNormFieldCount; ++index)
    {
        if (!seen[index])
        {
            TPB_LOG_ERROR(where, "field \"%s\" is missing (expected %s)", kFieldNames[index], kAllowedNames);
            return false;
        }
    }
    if (!validateLayerNormParams(parsed, where))
    {
        return false;
    }
    params = parsed;
    return true;
}

nvinfer1::PluginField describeLayerNormField(int32_t index) noexcept
{
    if (index == kEpsIndex)
    {
        return nvinfer1::PluginField(kLayerNormFieldEps, nullptr, nvinfer1::PluginFieldType::kFLOAT32, 1);
    }
    if (index == kKernelIndex)
    {
        return nvinfer1::PluginField(kLayerNormFieldKernel, nullptr, nvinfer1::PluginFieldType::kINT32, 1);
    }
    return nvinfer1::PluginField(
        kLayerNormFieldKernelTable, nullptr, nvinfer1::PluginFieldType::kINT32, 2 * kLayerNormMaxBands);
}

void layerNormSerializedFields(LayerNormParams& params, nvinfer1::PluginField (&fields)[kLayerNormFieldCount]) noexcept
{
    fields[kEpsIndex] = nvinfer1::PluginField(kLayerNormFieldEps, &params.eps, nvinfer1::PluginFieldType::kFLOAT32, 1);
    fields[kKernelIndex]
        = nvinfer1::PluginField(kLayerNormFieldKernel, &params.kernel, nvinfer1::PluginFieldType::kINT32, 1);
    // always written (length 0 without a table) so the runtime phase can require all three
    fields[kTableIndex] = nvinfer1::PluginField(
        kLayerNormFieldKernelTable, params.table, nvinfer1::PluginFieldType::kINT32, 2 * clampedBands(params));
}

bool toLayerNormDataType(nvinfer1::DataType type, RowNormDataType& dtype) noexcept
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

bool layerNormSupportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs, nvinfer1::TensorFormat format,
    nvinfer1::DataType type, nvinfer1::DataType inputType) noexcept
{
    if (nbInputs != kLayerNormNbInputs || nbOutputs != kLayerNormNbOutputs || pos < 0 || pos >= nbInputs + nbOutputs)
    {
        return false;
    }
    RowNormDataType unused{};
    if (format != nvinfer1::TensorFormat::kLINEAR || !toLayerNormDataType(type, unused))
    {
        return false;
    }
    return pos == 0 || type == inputType;
}

bool checkLayerNormShapes(nvinfer1::Dims const* inputDims, int32_t nbInputs, char const* where) noexcept
{
    if (inputDims == nullptr || nbInputs != kLayerNormNbInputs)
    {
        TPB_LOG_ERROR(where, "expected %d inputs (x, gamma, beta), got %d", static_cast<int>(kLayerNormNbInputs),
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
    int64_t const hidden = x.d[x.nbDims - 1];
    char const* const names[] = {"x", "gamma", "beta"};
    for (int32_t k = 1; k < kLayerNormNbInputs; ++k)
    {
        nvinfer1::Dims const& w = inputDims[k];
        if (w.nbDims != 1)
        {
            TPB_LOG_ERROR(where, "%s must have rank 1 ([hidden]), got rank %d", names[k], static_cast<int>(w.nbDims));
            return false;
        }
        if (hidden >= 0 && w.d[0] >= 0 && w.d[0] != hidden)
        {
            TPB_LOG_ERROR(where, "%s holds %lld elements, x's last dimension (hidden) is %lld", names[k],
                static_cast<long long>(w.d[0]), static_cast<long long>(hidden));
            return false;
        }
    }
    return true;
}

int32_t enqueueLayerNorm(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
    LayerNormParams const& params, cudaStream_t stream, char const* where) noexcept
{
    int64_t count = 0;
    int64_t gammaCount = 0;
    int64_t betaCount = 0;
    if (!countOf(inputDesc[0], "enqueue x", count, where) || !countOf(inputDesc[1], "enqueue gamma", gammaCount, where)
        || !countOf(inputDesc[2], "enqueue beta", betaCount, where))
    {
        return -1;
    }
    nvinfer1::Dims const& dims = inputDesc[0].dims;
    if (dims.nbDims < 1)
    {
        TPB_LOG_ERROR(where, "x must have rank >= 1, got %d", static_cast<int>(dims.nbDims));
        return -1;
    }
    if (count == 0)
    {
        return 0; // zero rows (or hidden 0): nothing to compute
    }
    int64_t const hidden = dims.d[dims.nbDims - 1];
    if (gammaCount != hidden || betaCount != hidden)
    {
        TPB_LOG_ERROR(where, "gamma and beta must hold hidden = %lld elements, got %lld and %lld",
            static_cast<long long>(hidden), static_cast<long long>(gammaCount), static_cast<long long>(betaCount));
        return -1;
    }
    RowNormDataType dtype{};
    if (!toLayerNormDataType(inputDesc[0].type, dtype) || inputDesc[1].type != inputDesc[0].type
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
    cudaError_t const status = launchLayerNorm(inputs[0], inputs[1], inputs[2], outputs[0], count / hidden, hidden,
        params.eps, dtype, selectLayerNormKernel(params, tensorBytes), stream);
    if (status != cudaSuccess)
    {
        TPB_LOG_ERROR(where, "kernel launch failed: %s (%s)", cudaGetErrorName(status), cudaGetErrorString(status));
        return -1;
    }
    return 0;
}

// -- LayerNormOp: what the shared plugin plumbing (common/pluginV3Base.h, common/pluginV2Base.h) reads --

const PluginWheres LayerNormOp::kWhere = pluginWheresOf<LayerNormOp>();

bool LayerNormOp::checkShapes(nvinfer1::Dims const* dims, int32_t nbInputs, char const* where) noexcept
{
    return checkLayerNormShapes(dims, nbInputs, where);
}

//! layerNormSupportsCombination; \p desc is the tensor at \p pos, \p first the first input.
bool LayerNormOp::supportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs,
    nvinfer1::PluginTensorDesc const& desc, nvinfer1::PluginTensorDesc const& first, Params const& /*params*/) noexcept
{
    return layerNormSupportsCombination(pos, nbInputs, nbOutputs, desc.format, desc.type, first.type);
}

//! The timing-cache id's head, eps by its bits and the kernel: "eps=0x...;kernel=k;table=".
int LayerNormOp::writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept
{
    // eps by its bits: two values that print alike must not share timings.
    uint32_t epsBits = 0;
    std::memcpy(&epsBits, &params.eps, sizeof(epsBits));
    return std::snprintf(head, size, "eps=0x%08" PRIx32 ";kernel=%" PRId32 ";table=", epsBits, params.kernel);
}

//! The V3 plugin's getFieldsToSerialize, pointing into \p params: layerNormSerializedFields.
void LayerNormOp::serializedFields(Params& params, nvinfer1::PluginField (&fields)[kFieldCount]) noexcept
{
    layerNormSerializedFields(params, fields);
}

nvinfer1::PluginField LayerNormOp::describeField(int32_t index) noexcept
{
    return describeLayerNormField(index);
}

//! parseLayerNormFields; \p build: kDEFAULTS_ALLOWED, else kALL_REQUIRED (the V3 runtime phase).
bool LayerNormOp::parseFields(
    nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where, bool build) noexcept
{
    return parseLayerNormFields(
        fc, params, where, build ? LayerNormFieldPolicy::kDEFAULTS_ALLOWED : LayerNormFieldPolicy::kALL_REQUIRED);
}

//! The V2 plugin's record (layerNormRecordSize / writeLayerNormRecord / readLayerNormRecord).
size_t LayerNormOp::recordSize(Params const& params) noexcept
{
    return layerNormRecordSize(params);
}

bool LayerNormOp::writeRecord(Params const& params, void* buffer, size_t capacity) noexcept
{
    return writeLayerNormRecord(params, buffer, capacity);
}

bool LayerNormOp::readRecord(void const* data, size_t length, Params& params, char const* where) noexcept
{
    return readLayerNormRecord(data, length, params, where);
}

//! enqueueLayerNorm.
int32_t LayerNormOp::enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
    void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept
{
    return enqueueLayerNorm(inputDesc, inputs, outputs, launch, stream, where);
}

} // namespace tpb
