// Pieces shared by the IPluginV2DynamicExt and IPluginV3 GELU plugins: names, the three plugin
// fields and their validation, the kernel choice table, the serialisation record, type mapping and
// the enqueue body.
#pragma once

#include "NvInferRuntime.h"
#include "pluginOpTraits.h"
#include "geluKernel.h"
#include "geluRecord.h"

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace tpb
{

// The creator name (one per operator; the library is shared with other operators: plugin/api/opsPluginLibrary.cpp).
constexpr char const* kGeluPluginName = "Gelu";
constexpr char const* kGeluPluginLegacyVersion = "1"; // IPluginV2DynamicExt
constexpr char const* kGeluPluginV3Version = "2";     // IPluginV3

constexpr char const* kGeluFieldApproximation = "approximation"; // kINT32 x 1, 0 (erf) or 1 (tanh)
constexpr char const* kGeluFieldKernel = "kernel";               // kINT32 x 1, isValidGeluKernel
// kINT32 x 2n, 0 <= n <= kGeluMaxBands: pairs (upper_kib, kernel), see GeluParams::table.
constexpr char const* kGeluFieldKernelTable = "kernel_table";

// GeluParams, the limits of its kernel table and the record (TensorRT-free) are in geluRecord.h.
constexpr int32_t kGeluDefaultKernel = static_cast<int32_t>(GeluKernel::kVECTORIZED_ONESHOT);
static_assert(kGeluDefaultKernel == kGeluDefaultKernelId, "geluRecord.h's default kernel id is kVECTORIZED_ONESHOT");
static_assert(kGeluApproximationErf == static_cast<int32_t>(GeluApproximation::kERF)
        && kGeluApproximationTanh == static_cast<int32_t>(GeluApproximation::kTANH),
    "geluRecord.h's approximation ids are GeluApproximation's");

//! The kernel enqueue launches for an input of \p tensorBytes bytes: the band's kernel when there is
//! a table, else params.kernel. Expects validated params (the last band is taken as unbounded).
GeluKernel selectGeluKernel(GeluParams const& params, int64_t tensorBytes) noexcept;

//! An approximation of 0 or 1, a valid kernel id and a well-formed kernel table (see GeluParams); logs the
//! offending value under \p where otherwise.
bool validateGeluParams(GeluParams const& params, char const* where) noexcept;

//! Whether a field may be left out of the collection parseGeluFields reads.
enum class GeluFieldPolicy : int32_t
{
    kDEFAULTS_ALLOWED = 0, //!< network definition (build time): a missing field keeps its default
    kALL_REQUIRED = 1,     //!< V3 runtime phase: the collection is what getFieldsToSerialize() wrote
};

//! Read "approximation" / "kernel" / "kernel_table" from a field collection over defaults already in
//! \p params. Refused, with a logged error naming the field and the allowed names: an unknown name
//! (a misspelling must not silently build the default), a name given twice (which value was meant is
//! ambiguous), a wrong type, a length other than 1 (approximation, kernel) or other than an even 0 .. 16
//! (kernel_table), missing data, an invalid value and, under kALL_REQUIRED, a missing field. A null
//! collection means "all defaults" under kDEFAULTS_ALLOWED and is refused under kALL_REQUIRED.
//! \p params is written only on success.
bool parseGeluFields(nvinfer1::PluginFieldCollection const* fields, GeluParams& params, char const* where,
    GeluFieldPolicy policy) noexcept;

//! Field descriptions (data == nullptr) for getFieldNames().
nvinfer1::PluginField describeGeluField(int32_t index) noexcept;
constexpr int32_t kGeluFieldCount = 3;

//! Decode and validate a record (geluRecord.h: magic, version 1, length, checksum; then the values);
//! logs what is wrong under \p where and returns false on any problem.
bool readGeluRecord(void const* data, size_t length, GeluParams& params, char const* where) noexcept;

//! TensorRT tensor type -> kernel dtype; false for types the kernels do not handle.
bool toGeluDataType(nvinfer1::DataType type, GeluDataType& dtype) noexcept;

//! supportsFormatCombination for 1 input + 1 output: linear layout, fp32/fp16 (and bf16 on
//! TensorRT >= 10), output type equal to the input type.
bool geluSupportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs, nvinfer1::TensorFormat format,
    nvinfer1::DataType type, nvinfer1::DataType inputType) noexcept;

//! Enqueue body shared by both plugins: checkedElementCount of inputDesc.dims (elementCount.h: a rank
//! over 8, a negative dim or an int64 overflow refused; 0 only when a dim is 0 -> no launch), dtype from
//! inputDesc.type, kernel from selectGeluKernel(params, volume x element size), launch on \p stream.
//! Returns 0 on success, -1 (after logging) otherwise.
//! Touches no mutable state, so concurrent execution contexts are safe.
int32_t enqueueGelu(nvinfer1::PluginTensorDesc const& inputDesc, void const* input, void* output,
    GeluParams const& params, cudaStream_t stream, char const* where) noexcept;

//! Gelu's part of the plugin plumbing both versions share (common/pluginV3Base.h: PluginV3Base<GeluOp>,
//! common/pluginV2Base.h: PluginV2DynamicExtBase<GeluOp>): what differs from the other operators.
struct GeluOp
{
    using Params = GeluParams;
    static constexpr char const* kName = kGeluPluginName;
    static constexpr char const* kVersion = kGeluPluginV3Version;
    static constexpr char const* kLegacyVersion = kGeluPluginLegacyVersion;
    static constexpr int32_t kNbInputs = 1;
    static constexpr int32_t kNbOutputs = 1;
    static constexpr int32_t kFieldCount = kGeluFieldCount;
    static constexpr int32_t kMaxBands = kGeluMaxBands;
    static constexpr bool kChecksShapesAtConfigure = false;

    TPB_PLUGIN_OP_MEMBERS; // kWhere, supportsCombination ... enqueue (common/pluginOpTraits.h)
};

} // namespace tpb
