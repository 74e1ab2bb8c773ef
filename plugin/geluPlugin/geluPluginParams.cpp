#include "geluPluginParams.h"

#include "pluginFields.h"
#include "pluginLog.h"
#include "elementCount.h"
#include "errorText.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <cstddef>

namespace tpb
{
namespace
{

// The fields, in the order of getFieldNames() and of the V3 plugin's getFieldsToSerialize() (common/pluginFields.h).
constexpr PluginFieldSpec kFields[kGeluFieldCount] = {
    {kGeluFieldApproximation, nvinfer1::PluginFieldType::kINT32, offsetof(GeluParams, approximation)},
    {kGeluFieldKernel, nvinfer1::PluginFieldType::kINT32, offsetof(GeluParams, kernel)},
    {kGeluFieldKernelTable, nvinfer1::PluginFieldType::kINT32, offsetof(GeluParams, table), kGeluMaxBands,
        offsetof(GeluParams, bandCount)},
};
static_assert(kGeluUnboundedKib == kUnboundedKib, "the kernel table's unbounded limit is common/pluginFields.h's");
// Listed in every refusal of a name, so the message says what would have been accepted.
constexpr char const* kAllowedNames = "\"approximation\", \"kernel\", \"kernel_table\"";

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
    return validateKernelTable(params.bandCount, params.table, kGeluMaxBands, isValidGeluKernel, kGeluKernelCount, "",
        kGeluFieldKernelTable, where);
}

GeluKernel selectGeluKernel(GeluParams const& params, int64_t tensorBytes) noexcept
{
    return static_cast<GeluKernel>(
        selectBandKernel(params.bandCount, params.table, kGeluMaxBands, params.kernel, tensorBytes));
}

bool parseGeluFields(nvinfer1::PluginFieldCollection const* fields, GeluParams& params, char const* where,
    GeluFieldPolicy policy) noexcept
{
    return readPluginFields(
        fields, kFields, kAllowedNames, params, where, policy == GeluFieldPolicy::kALL_REQUIRED, validateGeluParams);
}

nvinfer1::PluginField describeGeluField(int32_t index) noexcept
{
    return describePluginField(kFields[std::max(0, std::min(index, kGeluFieldCount - 1))]);
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
    serializePluginFields(kFields, params, fields);
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
