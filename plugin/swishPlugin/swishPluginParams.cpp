#include "swishPluginParams.h"

#include "pluginLog.h"
#include "pluginSerialize.h"

#include <cmath>
#include <cstring>

namespace tpb
{
namespace
{

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
        TPB_LOG_ERROR(
            where, "kernel must be in [0, %d], got %d", static_cast<int>(kSwishKernelCount - 1), static_cast<int>(params.kernel));
        return false;
    }
    return true;
}

bool parseSwishFields(nvinfer1::PluginFieldCollection const* fields, SwishParams& params, char const* where,
    SwishFieldPolicy policy) noexcept
{
    bool const allRequired = policy == SwishFieldPolicy::kALL_REQUIRED;
    if (fields == nullptr)
    {
        if (allRequired)
        {
            TPB_LOG_ERROR(where, "no field collection (expected \"%s\" and \"%s\")", kSwishFieldBeta, kSwishFieldKernel);
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
    bool seenBeta = false;
    bool seenKernel = false;
    for (int32_t i = 0; i < fields->nbFields; ++i)
    {
        nvinfer1::PluginField const& field = fields->fields[i];
        if (field.name == nullptr)
        {
            TPB_LOG_ERROR(where, "field %d has no name", static_cast<int>(i));
            return false;
        }
        bool const isBeta = std::strcmp(field.name, kSwishFieldBeta) == 0;
        bool const isKernel = std::strcmp(field.name, kSwishFieldKernel) == 0;
        if (!isBeta && !isKernel)
        {
            // Names are case-sensitive: "Beta" is a typo that would otherwise build beta = 1.
            TPB_LOG_ERROR(where, "unknown field \"%s\" (allowed: \"%s\", \"%s\")", field.name, kSwishFieldBeta,
                kSwishFieldKernel);
            return false;
        }
        bool& seen = isBeta ? seenBeta : seenKernel;
        if (seen)
        {
            TPB_LOG_ERROR(where, "field \"%s\" given more than once (allowed: \"%s\", \"%s\", each at most once)",
                field.name, kSwishFieldBeta, kSwishFieldKernel);
            return false;
        }
        seen = true;
        if (isBeta)
        {
            if (!checkFieldShape(field, nvinfer1::PluginFieldType::kFLOAT32, where))
            {
                return false;
            }
            std::memcpy(&parsed.beta, field.data, sizeof(float));
        }
        else
        {
            if (!checkFieldShape(field, nvinfer1::PluginFieldType::kINT32, where))
            {
                return false;
            }
            std::memcpy(&parsed.kernel, field.data, sizeof(int32_t));
        }
    }
    if (allRequired && !(seenBeta && seenKernel))
    {
        TPB_LOG_ERROR(where, "field \"%s\" is missing (expected \"%s\" and \"%s\")",
            seenBeta ? kSwishFieldKernel : kSwishFieldBeta, kSwishFieldBeta, kSwishFieldKernel);
        return false;
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
    if (index == 0)
    {
        return nvinfer1::PluginField(kSwishFieldBeta, nullptr, nvinfer1::PluginFieldType::kFLOAT32, 1);
    }
    return nvinfer1::PluginField(kSwishFieldKernel, nullptr, nvinfer1::PluginFieldType::kINT32, 1);
}

bool writeSwishRecord(SwishParams const& params, void* buffer, size_t capacity) noexcept
{
    ByteWriter writer(buffer, capacity);
    writer.write(kSwishRecordMagic);
    writer.write(kSwishRecordVersion);
    writer.write(params.beta);
    writer.write(params.kernel);
    return writer.ok() && writer.written() == kSwishRecordSize;
}

bool readSwishRecord(void const* data, size_t length, SwishParams& params, char const* where) noexcept
{
    if (data == nullptr)
    {
        TPB_LOG_ERROR(where, "serialized data is null");
        return false;
    }
    if (length != kSwishRecordSize)
    {
        TPB_LOG_ERROR(where, "serialized data must be %zu bytes, got %zu", kSwishRecordSize, length);
        return false;
    }
    ByteReader reader(data, length);
    uint32_t magic = 0;
    uint32_t version = 0;
    SwishParams decoded;
    reader.read(magic);
    reader.read(version);
    reader.read(decoded.beta);
    reader.read(decoded.kernel);
    if (!reader.ok())
    {
        TPB_LOG_ERROR(where, "serialized data is truncated");
        return false;
    }
    if (magic != kSwishRecordMagic)
    {
        TPB_LOG_ERROR(where, "bad magic 0x%08x (expected 0x%08x): not a Swish plugin record",
            static_cast<unsigned>(magic), static_cast<unsigned>(kSwishRecordMagic));
        return false;
    }
    if (version != kSwishRecordVersion)
    {
        TPB_LOG_ERROR(where, "unsupported record version %u (expected %u)", static_cast<unsigned>(version),
            static_cast<unsigned>(kSwishRecordVersion));
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

bool swishSupportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs, nvinfer1::TensorFormat format,
    nvinfer1::DataType type, nvinfer1::DataType inputType) noexcept
{
    if (nbInputs != 1 || nbOutputs != 1 || pos < 0 || pos >= nbInputs + nbOutputs)
    {
        return false;
    }
    SwishDataType unused{};
    if (format != nvinfer1::TensorFormat::kLINEAR || !toSwishDataType(type, unused))
    {
        return false;
    }
    return pos == 0 || type == inputType;
}

int32_t enqueueSwish(nvinfer1::PluginTensorDesc const& inputDesc, void const* input, void* output,
    SwishParams const& params, cudaStream_t stream, char const* where) noexcept
{
    nvinfer1::Dims const& dims = inputDesc.dims;
    if (dims.nbDims < 0 || dims.nbDims > nvinfer1::Dims::MAX_DIMS)
    {
        TPB_LOG_ERROR(where, "invalid input rank %d", static_cast<int>(dims.nbDims));
        return -1;
    }
    int64_t count = 1;
    for (int32_t i = 0; i < dims.nbDims; ++i)
    {
        if (dims.d[i] < 0)
        {
            TPB_LOG_ERROR(where, "unresolved input dimension %d at enqueue", static_cast<int>(i));
            return -1;
        }
        count *= static_cast<int64_t>(dims.d[i]);
    }
    if (count == 0)
    {
        return 0;
    }
    SwishDataType dtype{};
    if (!toSwishDataType(inputDesc.type, dtype))
    {
        TPB_LOG_ERROR(where, "unsupported input type %d", static_cast<int>(inputDesc.type));
        return -1;
    }
    cudaError_t const status
        = launchSwish(input, output, count, params.beta, dtype, static_cast<SwishKernel>(params.kernel), stream);
    if (status != cudaSuccess)
    {
        TPB_LOG_ERROR(where, "kernel launch failed: %s (%s)", cudaGetErrorName(status), cudaGetErrorString(status));
        return -1;
    }
    return 0;
}

} // namespace tpb
