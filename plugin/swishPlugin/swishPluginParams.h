// Pieces shared by the IPluginV2DynamicExt and IPluginV3 Swish plugins: names, the three plugin
// fields and their validation, the kernel choice table, the serialisation record, type mapping and
// the enqueue body.
#pragma once

#include "NvInferRuntime.h"
#include "swishPluginKernel.h"
#include "swishRecord.h"

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace tpb
{

// The creator name. TPB_PLUGIN_NAME_ID (an identifier, no quotes) is set only by the bad-plugin
// fixture targets (plugin/CMakeLists.txt, TPB_BAD_PLUGINS), so that a fixture library's creators
// cannot collide with the real plugin's in one process; the shipped library is always "Swish".
#ifdef TPB_PLUGIN_NAME_ID
#define TPB_PLUGIN_NAME_STRING_IMPL(x) #x
#define TPB_PLUGIN_NAME_STRING(x) TPB_PLUGIN_NAME_STRING_IMPL(x)
constexpr char const* kSwishPluginName = TPB_PLUGIN_NAME_STRING(TPB_PLUGIN_NAME_ID);
#else
constexpr char const* kSwishPluginName = "Swish";
#endif
constexpr char const* kSwishPluginLegacyVersion = "1"; // IPluginV2DynamicExt
constexpr char const* kSwishPluginV3Version = "2";     // IPluginV3

constexpr char const* kSwishFieldBeta = "beta";     // kFLOAT32 x 1, finite
constexpr char const* kSwishFieldKernel = "kernel"; // kINT32 x 1, isValidSwishKernel
// kINT32 x 2n, 0 <= n <= kSwishMaxBands: pairs (upper_kib, kernel), see SwishParams::table.
constexpr char const* kSwishFieldKernelTable = "kernel_table";

// SwishParams, the limits of its kernel table and the record (TensorRT-free) are in swishRecord.h.
constexpr int32_t kSwishDefaultKernel = static_cast<int32_t>(SwishKernel::kVECTORIZED_ONESHOT);
static_assert(kSwishDefaultKernel == kSwishDefaultKernelId, "swishRecord.h's default kernel id is kVECTORIZED_ONESHOT");

//! The kernel enqueue launches for an input of \p tensorBytes bytes: the band's kernel when there is
//! a table, else params.kernel. Expects validated params (the last band is taken as unbounded).
SwishKernel selectSwishKernel(SwishParams const& params, int64_t tensorBytes) noexcept;

//! Finite beta, a valid kernel id and a well-formed kernel table (see SwishParams); logs the
//! offending value under \p where otherwise.
bool validateSwishParams(SwishParams const& params, char const* where) noexcept;

//! Whether a field may be left out of the collection parseSwishFields reads.
enum class SwishFieldPolicy : int32_t
{
    kDEFAULTS_ALLOWED = 0, //!< network definition (build time): a missing field keeps its default
    kALL_REQUIRED = 1,     //!< V3 runtime phase: the collection is what getFieldsToSerialize() wrote
};

//! Read "beta" / "kernel" / "kernel_table" from a field collection over defaults already in
//! \p params. Refused, with a logged error naming the field and the allowed names: an unknown name
//! (a misspelling must not silently build the default), a name given twice (which value was meant is
//! ambiguous), a wrong type, a length other than 1 (beta, kernel) or other than an even 0 .. 16
//! (kernel_table), missing data, an invalid value and, under kALL_REQUIRED, a missing field. A null
//! collection means "all defaults" under kDEFAULTS_ALLOWED and is refused under kALL_REQUIRED.
//! \p params is written only on success.
bool parseSwishFields(nvinfer1::PluginFieldCollection const* fields, SwishParams& params, char const* where,
    SwishFieldPolicy policy) noexcept;

//! Field descriptions (data == nullptr) for getFieldNames().
nvinfer1::PluginField describeSwishField(int32_t index) noexcept;
constexpr int32_t kSwishFieldCount = 3;

//! Decode and validate a record (swishRecord.h: magic, version 3, length, checksum; then the values);
//! logs what is wrong under \p where and returns false on any problem.
bool readSwishRecord(void const* data, size_t length, SwishParams& params, char const* where) noexcept;

//! TensorRT tensor type -> kernel dtype; false for types the kernels do not handle.
bool toSwishDataType(nvinfer1::DataType type, SwishDataType& dtype) noexcept;

//! supportsFormatCombination for 1 input + 1 output: linear layout, fp32/fp16 (and bf16 on
//! TensorRT >= 10), output type equal to the input type.
bool swishSupportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs, nvinfer1::TensorFormat format,
    nvinfer1::DataType type, nvinfer1::DataType inputType) noexcept;

//! Enqueue body shared by both plugins: checkedElementCount of inputDesc.dims (elementCount.h: a rank
//! over 8, a negative dim or an int64 overflow refused; 0 only when a dim is 0 -> no launch), dtype from
//! inputDesc.type, kernel from selectSwishKernel(params, volume x element size), launch on \p stream.
//! Returns 0 on success, -1 (after logging) otherwise.
//! Touches no mutable state, so concurrent execution contexts are safe.
int32_t enqueueSwish(nvinfer1::PluginTensorDesc const& inputDesc, void const* input, void* output,
    SwishParams const& params, cudaStream_t stream, char const* where) noexcept;

} // namespace tpb
