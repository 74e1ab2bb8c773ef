// The Swish plugin's parameters and their serialised record, TensorRT-free and CUDA-free (the host
// harness, plugin/tests/hostHarness.cpp, drives the record under ASan/UBSan in CI). The values' own
// checks (kernel ids, table limits) are validateSwishParams in swishPluginParams.h, run on what
// readSwishRecordPayload decodes.
//
// Record, format version 4 (plugin/common/pluginRecord.h's envelope: magic, version, payload length,
// payload, CRC-32): magic 0x48535754 ("TWSH" in little-endian order), payload = float beta, int32
// kernel, int32 bandCount (0 .. kSwishMaxBands), then 2 x bandCount int32 (the table), then int32
// formats (SwishFormats). 32 + 8 x bandCount bytes in all. Version 3 (the same without formats, 28 + 8 x
// bandCount bytes) is still read, as formats = kLINEAR_ONLY: engines built before it keep loading. Versions 1 and 2 (magic, version and values, no length or checksum: ~20 % of their
// single-byte changes decoded as another valid plugin) are refused with a message that says to rebuild
// the engine.
#pragma once

#include "errorText.h"

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace tpb
{

//! Most size bands a kernel table may hold. A fixed bound keeps SwishParams trivially copyable (no
//! heap: PluginField points straight at the array) and the serialised record small.
constexpr int32_t kSwishMaxBands = 8;
//! The last band's upper_kib: no upper limit.
constexpr int32_t kSwishUnboundedKib = -1;
constexpr float kSwishDefaultBeta = 1.0F;
//! SwishKernel::kVECTORIZED_ONESHOT (swishPluginParams.h asserts it), the fastest kernel measured on
//! the H100 (docs/kernel-notes.md), used when the field is absent.
constexpr int32_t kSwishDefaultKernelId = 3;

//! The tensor formats the plugin offers TensorRT (the "formats" field; supportsFormatCombination).
//! kLINEAR_ONLY: row-major linear only (the default, and what every record before version 4 meant).
//! kANY_LAYOUT: any layout TensorRT 8.6 offers for the dtype (fp16: kLINEAR, kCHW2, kCHW4, kCHW16,
//! kCHW32, kHWC8, kHWC16; fp32: kLINEAR, kCHW32, kHWC), the output in the input's format. Swish is
//! elementwise and swish(0) = 0, so the kernel runs over the padded allocation (channels rounded up to
//! the format's vector), and the padding stays 0.
constexpr int32_t kSwishFormatsLinearOnly = 0;
constexpr int32_t kSwishFormatsAnyLayout = 1;
//! Plugin attributes. kernel stays int32_t (not the enum) so PluginField can point straight at it.
//!
//! Kernel choice table (the "kernel_table" field, measured per GPU by the pipeline's tune rule):
//! bandCount pairs table[2i] = upper_kib, table[2i + 1] = kernel id. Band i covers input tensors of
//! byte size (volume x element size) above band i-1's limit and at most upper_kib * 1024; the limits
//! ascend strictly, are > 0, and the last one is kSwishUnboundedKib. bandCount == 0 means no table:
//! "kernel" decides at every size. Entries past 2 * bandCount stay 0, so equal parameters compare and
//! serialise byte for byte alike.
struct SwishParams
{
    float beta{kSwishDefaultBeta};
    int32_t kernel{kSwishDefaultKernelId};
    int32_t bandCount{0};
    int32_t table[2 * kSwishMaxBands]{};
    int32_t formats{kSwishFormatsLinearOnly};
};
static_assert(std::is_trivially_copyable<SwishParams>::value, "PluginField and the record copy SwishParams bytewise");

constexpr uint32_t kSwishRecordMagic = 0x48535754U; // bytes "TWSH" in little-endian order
constexpr uint32_t kSwishRecordVersion = 4;
constexpr uint32_t kSwishRecordVersionNoFormats = 3; //!< still read: formats = kSwishFormatsLinearOnly
constexpr size_t kSwishPayloadHeaderSize = 12; //!< beta, kernel, bandCount

//! Bytes of the record for \p params: 32 + 8 x bandCount.
size_t swishRecordSize(SwishParams const& params) noexcept;

//! Writes the record; false unless exactly swishRecordSize(params) bytes fit in \p capacity.
bool writeSwishRecord(SwishParams const& params, void* buffer, size_t capacity) noexcept;

//! Checks the envelope (magic, version 4, or 3 read as formats 0; length, checksum) and the payload's structure (a band
//! count in 0 .. kSwishMaxBands, a payload of exactly that many bands) and decodes it into \p params
//! (table entries past the bands zeroed). The values are not validated here. False, \p params
//! untouched and \p error set, on any problem.
bool readSwishRecordPayload(void const* data, size_t length, SwishParams& params, ErrorText& error) noexcept;

} // namespace tpb
