// Pieces shared by the IPluginV2DynamicExt and IPluginV3 Swish plugins: names, the three plugin
// fields and their validation, the kernel choice table, the serialisation record, type mapping and
// the enqueue body.
#pragma once

#include "NvInferRuntime.h"
#include "pluginOpTraits.h"
#include "swishPluginKernel.h"
#include "swishRecord.h"

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace tpb
{

constexpr char const* kSwishPluginName = "Swish";
constexpr char const* kSwishPluginLegacyVersion = "1"; // IPluginV2DynamicExt
constexpr char const* kSwishPluginV3Version = "2";     // IPluginV3

constexpr char const* kSwishFieldBeta = "beta";     // kFLOAT32 x 1, finite
constexpr char const* kSwishFieldKernel = "kernel"; // kINT32 x 1, isValidSwishKernel
// kINT32 x 2n, 0 <= n <= kSwishMaxBands: pairs (upper_kib, kernel), see SwishParams::table.
constexpr char const* kSwishFieldKernelTable = "kernel_table";
// kINT32 x 1, kSwishFormatsLinearOnly (0, default) or kSwishFormatsAnyLayout (1): swishRecord.h
constexpr char const* kSwishFieldFormats = "formats";

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

//! Read "beta" / "kernel" / "kernel_table" / "formats" from a field collection over defaults already in
//! \p params. Refused, with a logged error naming the field and the allowed names: an unknown name
//! (a misspelling must not silently build the default), a name given twice (which value was meant is
//! ambiguous), a wrong type, a length other than 1 (beta, kernel, formats) or other than an even 0 .. 16
//! (kernel_table), missing data, an invalid value and, under kALL_REQUIRED, a missing field ("formats"
//! excepted: V3 engines serialized before it lack it, and it defaults to linear only). A null
//! collection means "all defaults" under kDEFAULTS_ALLOWED and is refused under kALL_REQUIRED.
//! \p params is written only on success.
bool parseSwishFields(nvinfer1::PluginFieldCollection const* fields, SwishParams& params, char const* where,
    SwishFieldPolicy policy) noexcept;

//! Field descriptions (data == nullptr) for getFieldNames().
nvinfer1::PluginField describeSwishField(int32_t index) noexcept;
constexpr int32_t kSwishFieldCount = 4;

//! Decode and validate a record (swishRecord.h: magic, version 4 (or 3), length, checksum; then the values);
//! logs what is wrong under \p where and returns false on any problem.
bool readSwishRecord(void const* data, size_t length, SwishParams& params, char const* where) noexcept;

//! TensorRT tensor type -> kernel dtype; false for types the kernels do not handle.
bool toSwishDataType(nvinfer1::DataType type, SwishDataType& dtype) noexcept;

//! supportsFormatCombination for 1 input + 1 output: fp32/fp16 (and bf16 on TensorRT >= 10), output
//! type and format equal to the input's; the layout linear, or with \p formats kSwishFormatsAnyLayout
//! any layout swishFormatVector knows for the type (on a tensor of rank >= 3).
bool swishSupportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs, nvinfer1::TensorFormat format,
    nvinfer1::DataType type, nvinfer1::DataType inputType, nvinfer1::TensorFormat inputFormat, int32_t rank,
    int32_t formats) noexcept;

//! How many channels a format packs into one vector (its channels are padded to a multiple of it):
//! 1 for kLINEAR and kHWC, 2/4/16/32 for kCHW2/4/16/32, 8 for kHWC8, 16 for kHWC16; 0 for a format
//! the plugin does not take with \p type (TensorRT 8.6's header: kCHW2/4/16, kHWC8/16 are fp16 only,
//! kHWC fp32 only, kCHW32 either).
int32_t swishFormatVector(nvinfer1::TensorFormat format, nvinfer1::DataType type) noexcept;

//! Enqueue body shared by both plugins: checkedElementCount of inputDesc.dims (elementCount.h: a rank
//! over 8, a negative dim or an int64 overflow refused; 0 only when a dim is 0 -> no launch), with the
//! channel dim (rank - 3) rounded up to swishFormatVector(inputDesc.format): the padded allocation of a
//! vectorized format, where the kernel computes swish(0) = 0 over the padding; dtype from
//! inputDesc.type, kernel from selectSwishKernel(params, volume x element size), launch on \p stream.
//! Returns 0 on success, -1 (after logging) otherwise.
//! Touches no mutable state, so concurrent execution contexts are safe.
int32_t enqueueSwish(nvinfer1::PluginTensorDesc const& inputDesc, void const* input, void* output,
    SwishParams const& params, cudaStream_t stream, char const* where) noexcept;

//! Swish's part of the plugin plumbing both versions share (common/pluginV3Base.h: PluginV3Base<SwishOp>,
//! common/pluginV2Base.h: PluginV2DynamicExtBase<SwishOp>): what differs from the other operators.
struct SwishOp
{
    using Params = SwishParams;
    static constexpr char const* kName = kSwishPluginName;
    static constexpr char const* kVersion = kSwishPluginV3Version;
    static constexpr char const* kLegacyVersion = kSwishPluginLegacyVersion;
    static constexpr int32_t kNbInputs = 1;
    static constexpr int32_t kNbOutputs = 1;
    static constexpr int32_t kFieldCount = kSwishFieldCount;
    static constexpr int32_t kMaxBands = kSwishMaxBands;
    static constexpr bool kChecksShapesAtConfigure = false;

    TPB_PLUGIN_OP_MEMBERS; // kWhere, supportsCombination ... enqueue (common/pluginOpTraits.h)
};

} // namespace tpb
