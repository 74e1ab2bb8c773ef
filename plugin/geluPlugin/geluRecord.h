// The GELU plugin's parameters and their serialised record, TensorRT-free and CUDA-free (the host
// harness, plugin/tests/hostHarness.cpp, drives the record under ASan/UBSan in CI). The values' own
// checks (approximation, kernel ids, table limits) are validateGeluParams in geluPluginParams.h, run on
// what readGeluRecordPayload decodes.
//
// Record, format version 1 (plugin/common/pluginRecord.h's envelope: magic, version, payload length,
// payload, CRC-32): magic 0x554C4547 ("GELU" in little-endian order), payload = int32 approximation,
// int32 kernel, int32 bandCount (0 .. kGeluMaxBands), then 2 x bandCount int32 (the table).
// 28 + 8 x bandCount bytes in all.
#pragma once

#include "errorText.h"

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace tpb
{

//! Most size bands a kernel table may hold. A fixed bound keeps GeluParams trivially copyable (no
//! heap: PluginField points straight at the array) and the serialised record small.
constexpr int32_t kGeluMaxBands = 8;
//! The last band's upper_kib: no upper limit.
constexpr int32_t kGeluUnboundedKib = -1;
//! The "approximation" field: 0 = the erf form 0.5 x (1 + erf(x / sqrt 2)) (the default), 1 = the tanh
//! form 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). Other values are refused.
constexpr int32_t kGeluApproximationErf = 0;
constexpr int32_t kGeluApproximationTanh = 1;
constexpr int32_t kGeluDefaultApproximation = kGeluApproximationErf;
//! GeluKernel::kVECTORIZED_ONESHOT (geluPluginParams.h asserts it), used when the field is absent: the
//! shape of Swish's H100 winner (docs/kernel-notes.md); the tune rule picks per size band on the GPU.
constexpr int32_t kGeluDefaultKernelId = 2;

//! Plugin attributes. kernel stays int32_t (not the enum) so PluginField can point straight at it.
//!
//! Kernel choice table (the "kernel_table" field, measured per GPU by the pipeline's tune rule):
//! bandCount pairs table[2i] = upper_kib, table[2i + 1] = kernel id. Band i covers input tensors of
//! byte size (volume x element size) above band i-1's limit and at most upper_kib * 1024; the limits
//! ascend strictly, are > 0, and the last one is kGeluUnboundedKib. bandCount == 0 means no table:
//! "kernel" decides at every size. Entries past 2 * bandCount stay 0, so equal parameters compare and
//! serialise byte for byte alike.
struct GeluParams
{
    int32_t approximation{kGeluDefaultApproximation};
    int32_t kernel{kGeluDefaultKernelId};
    int32_t bandCount{0};
    int32_t table[2 * kGeluMaxBands]{};
};
static_assert(std::is_trivially_copyable<GeluParams>::value, "PluginField and the record copy GeluParams bytewise");

constexpr uint32_t kGeluRecordMagic = 0x554C4547U; // bytes "GELU" in little-endian order
constexpr uint32_t kGeluRecordVersion = 1;
constexpr size_t kGeluPayloadHeaderSize = 12; //!< approximation, kernel, bandCount

//! Bytes of the record for \p params: 28 + 8 x bandCount.
size_t geluRecordSize(GeluParams const& params) noexcept;

//! Writes the record; false unless exactly geluRecordSize(params) bytes fit in \p capacity.
bool writeGeluRecord(GeluParams const& params, void* buffer, size_t capacity) noexcept;

//! Checks the envelope (magic, version 1, length, checksum) and the payload's structure (a band
//! count in 0 .. kGeluMaxBands, a payload of exactly that many bands) and decodes it into \p params
//! (table entries past the bands zeroed). The values are not validated here. False, \p params
//! untouched and \p error set, on any problem.
bool readGeluRecordPayload(void const* data, size_t length, GeluParams& params, ErrorText& error) noexcept;

} // namespace tpb
