#include "pluginRecord.h"

#include <cstring>

namespace tpb
{
namespace
{

void putU32(unsigned char* at, uint32_t value) noexcept
{
    std::memcpy(at, &value, sizeof(value));
}

uint32_t getU32(unsigned char const* at) noexcept
{
    uint32_t value = 0;
    std::memcpy(&value, at, sizeof(value));
    return value;
}

} // namespace

uint32_t crc32(void const* data, size_t length) noexcept
{
    auto const* bytes = static_cast<unsigned char const*>(data);
    uint32_t crc = 0xFFFFFFFFU;
    for (size_t i = 0; bytes != nullptr && i < length; ++i)
    {
        crc ^= bytes[i];
        for (int bit = 0; bit < 8; ++bit)
        {
            crc = (crc >> 1) ^ (0xEDB88320U & (0U - (crc & 1U)));
        }
    }
    return ~crc;
}

bool writeRecord(uint32_t magic, uint32_t version, void const* payload, size_t payloadLength, void* buffer,
    size_t capacity) noexcept
{
    if (buffer == nullptr || (payload == nullptr && payloadLength > 0) || payloadLength > UINT32_MAX
        || capacity != recordSize(payloadLength))
    {
        return false;
    }
    auto* out = static_cast<unsigned char*>(buffer);
    putU32(out, magic);
    putU32(out + 4, version);
    putU32(out + 8, static_cast<uint32_t>(payloadLength));
    if (payloadLength > 0)
    {
        std::memcpy(out + kRecordHeaderSize, payload, payloadLength);
    }
    size_t const covered = kRecordHeaderSize + payloadLength;
    putU32(out + covered, crc32(out, covered));
    return true;
}

bool readRecord(void const* data, size_t length, uint32_t magic, uint32_t version, char const* owner,
    RecordPayload& payload, ErrorText& error) noexcept
{
    if (data == nullptr)
    {
        error.set("%s record: serialized data is null", owner);
        return false;
    }
    auto const* bytes = static_cast<unsigned char const*>(data);
    if (length < 4 || getU32(bytes) != magic)
    {
        uint32_t found = 0;
        std::memcpy(&found, bytes, length < 4 ? length : 4);
        error.set("%s record: no magic 0x%08x at its start (found 0x%08x in %zu bytes): not a %s record, or one of "
                  "the old format without magic, length and checksum; rebuild the engine with this plugin",
            owner, static_cast<unsigned>(magic), static_cast<unsigned>(found), length, owner);
        return false;
    }
    if (length < 8)
    {
        error.set("%s record: %zu bytes, too short for magic and version", owner, length);
        return false;
    }
    uint32_t const foundVersion = getU32(bytes + 4);
    if (foundVersion < version)
    {
        error.set("%s record: format version %u is older than this plugin's %u (written before records carried a "
                  "length and checksum): rebuild the engine with this plugin",
            owner, static_cast<unsigned>(foundVersion), static_cast<unsigned>(version));
        return false;
    }
    if (foundVersion != version)
    {
        error.set("%s record: unsupported format version %u (this plugin reads %u): a newer plugin wrote it, or the "
                  "record is corrupt",
            owner, static_cast<unsigned>(foundVersion), static_cast<unsigned>(version));
        return false;
    }
    if (length < kRecordOverhead)
    {
        error.set("%s record: %zu bytes, shorter than the %zu bytes of header and checksum", owner, length,
            kRecordOverhead);
        return false;
    }
    uint32_t const payloadLength = getU32(bytes + 8);
    if (payloadLength != length - kRecordOverhead)
    {
        error.set("%s record: payload length field says %u bytes, the record holds %zu (truncated, padded or "
                  "corrupt)",
            owner, static_cast<unsigned>(payloadLength), length - kRecordOverhead);
        return false;
    }
    size_t const covered = kRecordHeaderSize + payloadLength;
    uint32_t const stored = getU32(bytes + covered);
    uint32_t const computed = crc32(bytes, covered);
    if (stored != computed)
    {
        error.set("%s record: checksum mismatch (stored 0x%08x, computed 0x%08x): the record is corrupt", owner,
            static_cast<unsigned>(stored), static_cast<unsigned>(computed));
        return false;
    }
    payload.data = bytes + kRecordHeaderSize;
    payload.length = payloadLength;
    return true;
}

} // namespace tpb
