#include "swishPluginParams.h"

#include "pluginFields.h"
#include "pluginLog.h"
#include "elementCount.h"
#include "errorText.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstddef>

namespace tpb
{
namespace
{

// The fields, in the order of getFieldNames() and of the V3 plugin's getFieldsToSerialize() (common/pluginFields.h).
constexpr PluginFieldSpec kFields[kSwishFieldCount] = {
    {kSwishFieldBeta, nvinfer1::PluginFieldType::kFLOAT32, offsetof(SwishParams, beta)},
    {kSwishFieldKernel, nvinfer1::PluginFieldType::kINT32, offsetof(SwishParams, kernel)},
    {kSwishFieldKernelTable, nvinfer1::PluginFieldType::kINT32, offsetof(SwishParams, table), kSwishMaxBands,
        offsetof(SwishParams, bandCount)},
    // optional in the V3 runtime phase too: V3 engines serialized before it lack it (linear only, its default)
    {kSwishFieldFormats, nvinfer1::PluginFieldType::kINT32, offsetof(SwishParams, formats), 0, 0, true},
};
static_assert(kSwishUnboundedKib == kUnboundedKib, "the kernel table's unbounded limit is common/pluginFields.h's");
// Listed in every refusal of a name, so the message says what would have been accepted.
constexpr char const* kAllowedNames = "\"beta\", \"kernel\", \"kernel_table\", \"formats\"";

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
    return validateKernelTable(params.bandCount, params.table, kSwishMaxBands, isValidSwishKernel, kSwishKernelCount,
        ", retired ids excluded", kSwishFieldKernelTable, where);
}

SwishKernel selectSwishKernel(SwishParams const& params, int64_t tensorBytes) noexcept
{
    return static_cast<SwishKernel>(
        selectBandKernel(params.bandCount, params.table, kSwishMaxBands, params.kernel, tensorBytes));
}

bool parseSwishFields(nvinfer1::PluginFieldCollection const* fields, SwishParams& params, char const* where,
    SwishFieldPolicy policy) noexcept
{
    return readPluginFields(
        fields, kFields, kAllowedNames, params, where, policy == SwishFieldPolicy::kALL_REQUIRED, validateSwishParams);
}

nvinfer1::PluginField describeSwishField(int32_t index) noexcept
{
    return describePluginField(kFields[std::max(0, std::min(index, kSwishFieldCount - 1))]);
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
    serializePluginFields(kFields, params, fields);
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
