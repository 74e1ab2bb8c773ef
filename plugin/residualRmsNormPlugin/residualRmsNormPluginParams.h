// Pieces shared by the IPluginV2DynamicExt and IPluginV3 residual-add + RMSNorm plugins (one body for both
// versions): names, the I/O arity, the fields and their strict validation, the kernel choice table,
// the serialised record (magic, version, CRC-32: plugin/common/pluginRecord.h), type mapping,
// supportsFormatCombination and the enqueue body.
//
// Inputs (x, r, gamma), outputs (y, h): h = x + r, y = h / sqrt(mean(h^2) + eps) * gamma over the last
// dimension (hidden); x and r of one shape, any rank >= 1; gamma of hidden elements (the spec's weight, a
// TensorRT constant of shape [hidden] appended after x and r); every tensor linear and of x's type.
#pragma once

#include "NvInferRuntime.h"
#include "pluginOpTraits.h"
#include "residualRmsNormKernel.h"

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace tpb
{

constexpr char const* kResidualRmsNormPluginName = "TpbResidualRmsNorm";
constexpr char const* kResidualRmsNormPluginLegacyVersion = "1"; // IPluginV2DynamicExt
constexpr char const* kResidualRmsNormPluginV3Version = "2";     // IPluginV3
constexpr int32_t kResidualRmsNormNbInputs = 3;  // x, r, gamma
constexpr int32_t kResidualRmsNormNbOutputs = 2; // y, h

constexpr char const* kResidualRmsNormFieldEps = "eps";       // kFLOAT32 x 1, finite and > 0
constexpr char const* kResidualRmsNormFieldKernel = "kernel"; // kINT32 x 1, a ResidualRmsNormKernel id
// kINT32 x 2n, 0 <= n <= kResidualRmsNormMaxBands: pairs (upper_kib, kernel) by x's bytes, as Swish's table
constexpr char const* kResidualRmsNormFieldKernelTable = "kernel_table";
constexpr int32_t kResidualRmsNormFieldCount = 3;

constexpr int32_t kResidualRmsNormMaxBands = 8;
constexpr int32_t kResidualRmsNormUnboundedKib = -1;
constexpr float kResidualRmsNormDefaultEps = 1.0e-6F;

//! Plugin attributes (trivially copyable: PluginField points straight at the members). Kernel table:
//! bandCount pairs table[2i] = upper_kib, table[2i + 1] = kernel id; band i covers x tensors of bytes
//! above band i-1's limit and at most upper_kib * 1024, limits ascending, the last kResidualRmsNormUnboundedKib;
//! bandCount 0: "kernel" at every size. Entries past 2 * bandCount stay 0.
struct ResidualRmsNormParams
{
    float eps{kResidualRmsNormDefaultEps};
    int32_t kernel{kResidualRmsNormDefaultKernelId};
    int32_t bandCount{0};
    int32_t table[2 * kResidualRmsNormMaxBands]{};
};
static_assert(std::is_trivially_copyable<ResidualRmsNormParams>::value, "PluginField and the record copy the params bytewise");

//! Record: magic 0x4E525054 (bytes "TPRN"), version 1; payload float eps, int32 kernel, int32 bandCount,
//! 2 x bandCount int32. 28 + 8 x bandCount bytes in all.
constexpr uint32_t kResidualRmsNormRecordMagic = 0x4E525054U;
constexpr uint32_t kResidualRmsNormRecordVersion = 1;

size_t residualRmsNormRecordSize(ResidualRmsNormParams const& params) noexcept;
//! False unless exactly residualRmsNormRecordSize(params) bytes fit in \p capacity.
bool writeResidualRmsNormRecord(ResidualRmsNormParams const& params, void* buffer, size_t capacity) noexcept;
//! Decode (envelope, structure) and validate; logs what is wrong under \p where.
bool readResidualRmsNormRecord(void const* data, size_t length, ResidualRmsNormParams& params, char const* where) noexcept;

//! eps finite and > 0, a valid kernel id, a well-formed table; logs the offending value otherwise.
bool validateResidualRmsNormParams(ResidualRmsNormParams const& params, char const* where) noexcept;

//! The kernel for an x of \p tensorBytes bytes: the band's with a table, else params.kernel.
ResidualRmsNormKernel selectResidualRmsNormKernel(ResidualRmsNormParams const& params, int64_t tensorBytes) noexcept;

enum class ResidualRmsNormFieldPolicy : int32_t
{
    kDEFAULTS_ALLOWED = 0, //!< network definition (build time): a missing field keeps its default
    kALL_REQUIRED = 1,     //!< V3 runtime phase: the collection is what getFieldsToSerialize() wrote
};

//! Read "eps" / "kernel" / "kernel_table" over the defaults in \p params. Refused, with a logged error
//! naming the field and the allowed names: an unknown or repeated name, a wrong type or length, missing
//! data, an invalid value, and under kALL_REQUIRED a missing field. \p params written only on success.
bool parseResidualRmsNormFields(nvinfer1::PluginFieldCollection const* fields, ResidualRmsNormParams& params, char const* where,
    ResidualRmsNormFieldPolicy policy) noexcept;

//! Field descriptions (data == nullptr) for getFieldNames().
nvinfer1::PluginField describeResidualRmsNormField(int32_t index) noexcept;
//! The fields of \p params (pointing into it) for the V3 plugin's getFieldsToSerialize().
void residualRmsNormSerializedFields(ResidualRmsNormParams& params, nvinfer1::PluginField (&fields)[kResidualRmsNormFieldCount]) noexcept;

bool toResidualRmsNormDataType(nvinfer1::DataType type, RowNormDataType& dtype) noexcept;

//! supportsFormatCombination: linear, fp32/fp16 (bf16 on TensorRT >= 10), every tensor of input 0's type.
bool residualRmsNormSupportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs, nvinfer1::TensorFormat format,
    nvinfer1::DataType type, nvinfer1::DataType inputType) noexcept;

//! Build-time shape check: r of x's rank (and dims, where known), gamma rank 1 of x's last dimension.
bool checkResidualRmsNormShapes(nvinfer1::Dims const* inputDims, int32_t nbInputs, char const* where) noexcept;

//! Enqueue body shared by both plugins: checked element counts (elementCount.h), hidden = x's last
//! dimension, rows = count / hidden (0: nothing to launch), r of x's dims, gamma of hidden elements, the kernel
//! from selectResidualRmsNormKernel by x's bytes. 0 on success, -1 (logged) otherwise. No mutable state.
int32_t enqueueResidualRmsNorm(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
    ResidualRmsNormParams const& params, cudaStream_t stream, char const* where) noexcept;

//! ResidualRmsNorm's part of the plugin plumbing both versions share (common/pluginV3Base.h: PluginV3Base<ResidualRmsNormOp>,
//! common/pluginV2Base.h: PluginV2DynamicExtBase<ResidualRmsNormOp>): what differs from the other operators.
struct ResidualRmsNormOp
{
    using Params = ResidualRmsNormParams;
    static constexpr char const* kName = kResidualRmsNormPluginName;
    static constexpr char const* kVersion = kResidualRmsNormPluginV3Version;
    static constexpr char const* kLegacyVersion = kResidualRmsNormPluginLegacyVersion;
    static constexpr int32_t kNbInputs = kResidualRmsNormNbInputs;
    static constexpr int32_t kNbOutputs = kResidualRmsNormNbOutputs;
    static constexpr int32_t kFieldCount = kResidualRmsNormFieldCount;
    static constexpr int32_t kMaxBands = kResidualRmsNormMaxBands;
    static constexpr bool kChecksShapesAtConfigure = true;

    //! checkResidualRmsNormShapes: the inputs' shapes agree (logged at configurePlugin; enqueue refuses itself).
    static bool checkShapes(nvinfer1::Dims const* dims, int32_t nbInputs, char const* where) noexcept;
    TPB_PLUGIN_OP_MEMBERS; // kWhere, supportsCombination ... enqueue (common/pluginOpTraits.h)
};

} // namespace tpb
