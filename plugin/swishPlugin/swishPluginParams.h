// Pieces shared by the IPluginV2DynamicExt and IPluginV3 Swish plugins: names, the two plugin fields
// and their validation, the 16-byte serialisation record, type mapping and the enqueue body.
#pragma once

#include "NvInferRuntime.h"
#include "swishPluginKernel.h"

#include <cstddef>
#include <cstdint>

namespace tpb
{

constexpr char const* kSwishPluginName = "Swish";
constexpr char const* kSwishPluginLegacyVersion = "1"; // IPluginV2DynamicExt
constexpr char const* kSwishPluginV3Version = "2";     // IPluginV3

constexpr char const* kSwishFieldBeta = "beta";     // kFLOAT32 x 1, finite
constexpr char const* kSwishFieldKernel = "kernel"; // kINT32 x 1, 0 .. kSwishKernelCount - 1

constexpr float kSwishDefaultBeta = 1.0F;
// The fastest kernel measured on the H100 (docs/kernel-notes.md), used when the field is absent.
constexpr int32_t kSwishDefaultKernel = static_cast<int32_t>(SwishKernel::kVECTORIZED_ONESHOT);

//! Plugin attributes. kernel stays int32_t (not the enum) so PluginField can point straight at it.
struct SwishParams
{
    float beta{kSwishDefaultBeta};
    int32_t kernel{kSwishDefaultKernel};
};

//! Serialised record (legacy plugin): uint32 magic, uint32 format version, float beta, int32 kernel.
constexpr uint32_t kSwishRecordMagic = 0x48535754U; // bytes "TWSH" in little-endian order
constexpr uint32_t kSwishRecordVersion = 1;
constexpr size_t kSwishRecordSize = 16;

//! Finite beta and a kernel id in range; logs the offending value under \p where otherwise.
bool validateSwishParams(SwishParams const& params, char const* where) noexcept;

//! Whether a field may be left out of the collection parseSwishFields reads.
enum class SwishFieldPolicy : int32_t
{
    kDEFAULTS_ALLOWED = 0, //!< network definition (build time): a missing field keeps its default
    kALL_REQUIRED = 1,     //!< V3 runtime phase: the collection is what getFieldsToSerialize() wrote
};

//! Read "beta" / "kernel" from a field collection over defaults already in \p params. Refused, with
//! a logged error naming the field and the allowed names: an unknown name (a misspelling must not
//! silently build the default), a name given twice (which value was meant is ambiguous), a wrong
//! type, a length other than 1, missing data, an invalid value and, under kALL_REQUIRED, a missing
//! field. A null collection means "all defaults" under kDEFAULTS_ALLOWED and is refused under
//! kALL_REQUIRED. \p params is written only on success.
bool parseSwishFields(nvinfer1::PluginFieldCollection const* fields, SwishParams& params, char const* where,
    SwishFieldPolicy policy) noexcept;

//! Field descriptions (data == nullptr) for getFieldNames().
nvinfer1::PluginField describeSwishField(int32_t index) noexcept;
constexpr int32_t kSwishFieldCount = 2;

bool writeSwishRecord(SwishParams const& params, void* buffer, size_t capacity) noexcept;

//! Validate length, magic, version and values; logs what is wrong and returns false on any problem.
bool readSwishRecord(void const* data, size_t length, SwishParams& params, char const* where) noexcept;

//! TensorRT tensor type -> kernel dtype; false for types the kernels do not handle.
bool toSwishDataType(nvinfer1::DataType type, SwishDataType& dtype) noexcept;

//! supportsFormatCombination for 1 input + 1 output: linear layout, fp32/fp16 (and bf16 on
//! TensorRT >= 10), output type equal to the input type.
bool swishSupportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs, nvinfer1::TensorFormat format,
    nvinfer1::DataType type, nvinfer1::DataType inputType) noexcept;

//! Enqueue body shared by both plugins: volume of inputDesc.dims (0 -> no launch), dtype from
//! inputDesc.type, launch on \p stream. Returns 0 on success, -1 (after logging) otherwise.
//! Touches no mutable state, so concurrent execution contexts are safe.
int32_t enqueueSwish(nvinfer1::PluginTensorDesc const& inputDesc, void const* input, void* output,
    SwishParams const& params, cudaStream_t stream, char const* where) noexcept;

} // namespace tpb
