// The envelope of every record the plugin libraries serialise into an engine (TensorRT-free: the
// host harness, plugin/tests/hostHarness.cpp, drives it under ASan/UBSan in CI).
//
// Layout (native byte order, little-endian on every platform TensorRT ships for):
//   offset 0   uint32  magic            identifies the record's owner (e.g. "TWSH" for Swish)
//   offset 4   uint32  format version   the owner's payload layout
//   offset 8   uint32  payload length   bytes of payload that follow
//   offset 12  payload
//   offset 12 + length  uint32  CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) of every byte
//                               before it (header and payload)
// Size: kRecordOverhead (16) + payload length. readRecord refuses, with a message naming the problem:
// a null or short buffer, a foreign magic, another version (older ones are named as such: written
// before the checksum, the engine must be rebuilt), a payload length that disagrees with the record's
// size, and a checksum mismatch. CRC-32 detects every error burst of up to 32 bits, so every
// single-byte change of a record is refused (the harness flips every bit and every byte of records).
#pragma once

#include "errorText.h"

#include <cstddef>
#include <cstdint>

namespace tpb
{

constexpr size_t kRecordHeaderSize = 12;   //!< magic, version, payload length
constexpr size_t kRecordChecksumSize = 4;  //!< the trailing CRC-32
constexpr size_t kRecordOverhead = kRecordHeaderSize + kRecordChecksumSize;

//! CRC-32 (IEEE) of \p length bytes at \p data (0 for length 0). Bitwise: records are tens of bytes.
uint32_t crc32(void const* data, size_t length) noexcept;

//! Bytes of a record with \p payloadLength bytes of payload.
constexpr size_t recordSize(size_t payloadLength) noexcept
{
    return kRecordOverhead + payloadLength;
}

//! Writes the record (header, \p payload, checksum) into \p buffer; false (nothing meaningful
//! written) unless \p buffer is non-null and \p capacity is exactly recordSize(payloadLength).
bool writeRecord(uint32_t magic, uint32_t version, void const* payload, size_t payloadLength, void* buffer,
    size_t capacity) noexcept;

//! The payload of a record readRecord accepted: a view into the caller's buffer.
struct RecordPayload
{
    unsigned char const* data{nullptr};
    size_t length{0};
};

//! Checks the envelope of \p length bytes at \p data: \p magic, exactly \p version, the payload
//! length, the checksum. \p owner names the record in messages ("Swish plugin"). On success
//! \p payload views the payload; on failure \p error says why and \p payload is untouched.
bool readRecord(void const* data, size_t length, uint32_t magic, uint32_t version, char const* owner,
    RecordPayload& payload, ErrorText& error) noexcept;

} // namespace tpb
