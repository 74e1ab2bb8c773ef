// Pieces shared by the IPluginV2DynamicExt and IPluginV3 LayerNorm plugins (one body for both
// versions): names, the I/O arity, the fields and their strict validation, the kernel choice table,
// the serialised record (magic, version, CRC-32: plugin/common/pluginRecord.h), type mapping,
// supportsFormatCombination and the enqueue body.
//
// Inputs (x, gamma, beta), output y: x of any rank >= 1, normalised over its last dimension (hidden);
// gamma and beta hold hidden elements each (the spec's weights, TensorRT constants of shape [hidden]
// appended after x); every tensor linear and of x's type.
#pragma once

#include "NvInferRuntime.h"
#include "pluginOpTraits.h"
#include "layerNormKernel.h"

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace tpb
{

constexpr char const* kLayerNormPluginName = "TpbLayerNorm";
constexpr char const* kLayerNormPluginLegacyVersion = "1"; // IPluginV2DynamicExt
constexpr char const* kLayerNormPluginV3Version = "2";     // IPluginV3
constexpr int32_t kLayerNormNbInputs = 3;                  // x, gamma, beta
constexpr int32_t kLayerNormNbOutputs = 1;                 // y

constexpr char const* kLayerNormFieldEps = "eps";       // kFLOAT32 x 1, finite and > 0
constexpr char const* kLayerNormFieldKernel = "kernel"; // kINT32 x 1, a LayerNormKernel id
// kINT32 x 2n, 0 <= n <= kLayerNormMaxBands: pairs (upper_kib, kernel) by x's bytes, as Swish's table
constexpr char const* kLayerNormFieldKernelTable = "kernel_table";
constexpr int32_t kLayerNormFieldCount = 3;

constexpr int32_t kLayerNormMaxBands = 8;
constexpr int32_t kLayerNormUnboundedKib = -1;
constexpr float kLayerNormDefaultEps = 1.0e-5F;

//! Plugin attributes (trivially copyable: PluginField points straight at the members). Kernel table:
//! bandCount pairs table[2i] = upper_kib, table[2i + 1] = kernel id; band i covers x tensors of bytes
//! above band i-1's limit and at most upper_kib * 1024, limits ascending, the last kLayerNormUnboundedKib;
//! bandCount 0: "kernel" at every size. Entries past 2 * bandCount stay 0.
struct LayerNormParams
{
    float eps{kLayerNormDefaultEps};
    int32_t kernel{kLayerNormDefaultKernelId};
    int32_t bandCount{0};
    int32_t table[2 * kLayerNormMaxBands]{};
};
static_assert(std::is_trivially_copyable<LayerNormParams>::value, "PluginField and the record copy the params bytewise");

//! Record: magic 0x4E4C5054 (bytes "TPLN"), version 1; payload float eps, int32 kernel, int32 bandCount,
//! 2 x bandCount int32. 28 + 8 x bandCount bytes in all.
constexpr uint32_t kLayerNormRecordMagic = 0x4E4C5054U;
constexpr uint32_t kLayerNormRecordVersion = 1;

size_t layerNormRecordSize(LayerNormParams const& params) noexcept;
//! False unless exactly layerNormRecordSize(params) bytes fit in \p capacity.
bool writeLayerNormRecord(LayerNormParams const& params, void* buffer, size_t capacity) noexcept;
//! Decode (envelope, structure) and validate; logs what is wrong under \p where.
bool readLayerNormRecord(void const* data, size_t length, LayerNormParams& params, char const* where) noexcept;

//! eps finite and > 0, a valid kernel id, a well-formed table; logs the offending value otherwise.
bool validateLayerNormParams(LayerNormParams const& params, char const* where) noexcept;

//! The kernel for an x of \p tensorBytes bytes: the band's with a table, else params.kernel.
LayerNormKernel selectLayerNormKernel(LayerNormParams const& params, int64_t tensorBytes) noexcept;

enum class LayerNormFieldPolicy : int32_t
{
    kDEFAULTS_ALLOWED = 0, //!< network definition (build time): a missing field keeps its default
    kALL_REQUIRED = 1,     //!< V3 runtime phase: the collection is what getFieldsToSerialize() wrote
};

//! Read "eps" / "kernel" / "kernel_table" over the defaults in \p params. Refused, with a logged error
//! naming the field and the allowed names: an unknown or repeated name, a wrong type or length, missing
//! data, an invalid value, and under kALL_REQUIRED a missing field. \p params written only on success.
bool parseLayerNormFields(nvinfer1::PluginFieldCollection const* fields, LayerNormParams& params, char const* where,
    LayerNormFieldPolicy policy) noexcept;

//! Field descriptions (data == nullptr) for getFieldNames().
nvinfer1::PluginField describeLayerNormField(int32_t index) noexcept;
//! The fields of \p params (pointing into it) for the V3 plugin's getFieldsToSerialize().
void layerNormSerializedFields(LayerNormParams& params, nvinfer1::PluginField (&fields)[kLayerNormFieldCount]) noexcept;

bool toLayerNormDataType(nvinfer1::DataType type, RowNormDataType& dtype) noexcept;

//! supportsFormatCombination: linear, fp32/fp16 (bf16 on TensorRT >= 10), every tensor of input 0's type.
bool layerNormSupportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs, nvinfer1::TensorFormat format,
    nvinfer1::DataType type, nvinfer1::DataType inputType) noexcept;

//! Build-time shape check: gamma and beta rank 1 of x's last dimension where both are known (-1: not yet).
bool checkLayerNormShapes(nvinfer1::Dims const* inputDims, int32_t nbInputs, char const* where) noexcept;

//! Enqueue body shared by both plugins: checked element counts (elementCount.h), hidden = x's last
//! dimension, rows = count / hidden (0: nothing to launch), gamma and beta of hidden elements, the kernel
//! from selectLayerNormKernel by x's bytes. 0 on success, -1 (logged) otherwise. No mutable state.
int32_t enqueueLayerNorm(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
    LayerNormParams const& params, cudaStream_t stream, char const* where) noexcept;

//! LayerNorm's part of the plugin plumbing both versions share (common/pluginV3Base.h: PluginV3Base<LayerNormOp>,
//! common/pluginV2Base.h: PluginV2DynamicExtBase<LayerNormOp>): what differs from the other operators.
struct LayerNormOp
{
    using Params = LayerNormParams;
    static constexpr char const* kName = kLayerNormPluginName;
    static constexpr char const* kVersion = kLayerNormPluginV3Version;
    static constexpr char const* kLegacyVersion = kLayerNormPluginLegacyVersion;
    static constexpr int32_t kNbInputs = kLayerNormNbInputs;
    static constexpr int32_t kNbOutputs = kLayerNormNbOutputs;
    static constexpr int32_t kFieldCount = kLayerNormFieldCount;
    static constexpr int32_t kMaxBands = kLayerNormMaxBands;
    static constexpr bool kChecksShapesAtConfigure = true;

    //! checkLayerNormShapes: the inputs' shapes agree (logged at configurePlugin; enqueue refuses itself).
    static bool checkShapes(nvinfer1::Dims const* dims, int32_t nbInputs, char const* where) noexcept;
    TPB_PLUGIN_OP_MEMBERS; // kWhere, supportsCombination ... enqueue (common/pluginOpTraits.h)
};

} // namespace tpb
