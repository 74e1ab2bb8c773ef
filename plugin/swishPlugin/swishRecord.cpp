#include "swishRecord.h"

#include "pluginRecord.h"

#include <algorithm>
#include <cstring>

namespace tpb
{
namespace
{

constexpr char kOwner[] = "Swish plugin";

int32_t clampedBands(SwishParams const& params) noexcept
{
    return std::max(0, std::min(params.bandCount, kSwishMaxBands));
}

//! Version 3's payload (no formats); version 4 appends one int32.
size_t payloadSizeV3(int32_t bands) noexcept
{
    return kSwishPayloadHeaderSize + static_cast<size_t>(bands) * 2 * sizeof(int32_t);
}

size_t payloadSize(int32_t bands) noexcept
{
    return payloadSizeV3(bands) + sizeof(int32_t);
}

//! The format version a record says it is (offset 4), or 0 when it is too short to say.
uint32_t peekVersion(void const* data, size_t length) noexcept
{
    if (data == nullptr || length < 8)
    {
        return 0;
    }
    uint32_t version = 0;
    std::memcpy(&version, static_cast<unsigned char const*>(data) + 4, sizeof(version));
    return version;
}

} // namespace

size_t swishRecordSize(SwishParams const& params) noexcept
{
    return recordSize(payloadSize(clampedBands(params)));
}

bool writeSwishRecord(SwishParams const& params, void* buffer, size_t capacity) noexcept
{
    int32_t const bands = clampedBands(params);
    unsigned char payload[kSwishPayloadHeaderSize + sizeof(params.table) + sizeof(int32_t)]{};
    std::memcpy(payload, &params.beta, 4);
    std::memcpy(payload + 4, &params.kernel, 4);
    std::memcpy(payload + 8, &bands, 4);
    std::memcpy(payload + kSwishPayloadHeaderSize, params.table, static_cast<size_t>(bands) * 2 * sizeof(int32_t));
    std::memcpy(payload + payloadSizeV3(bands), &params.formats, sizeof(int32_t));
    return writeRecord(kSwishRecordMagic, kSwishRecordVersion, payload, payloadSize(bands), buffer, capacity);
}

bool readSwishRecordPayload(void const* data, size_t length, SwishParams& params, ErrorText& error) noexcept
{
    RecordPayload payload;
    // version 3 (before the formats field) is read as formats = linear only; any other goes to
    // readRecord, whose message names it
    bool const noFormats = peekVersion(data, length) == kSwishRecordVersionNoFormats;
    if (!readRecord(data, length, kSwishRecordMagic, noFormats ? kSwishRecordVersionNoFormats : kSwishRecordVersion,
            kOwner, payload, error))
    {
        return false;
    }
    if (payload.length < kSwishPayloadHeaderSize)
    {
        error.set("%s record: payload of %zu bytes, expected at least %zu (beta, kernel, bandCount)", kOwner,
            payload.length, kSwishPayloadHeaderSize);
        return false;
    }
    SwishParams decoded;
    std::memcpy(&decoded.beta, payload.data, 4);
    std::memcpy(&decoded.kernel, payload.data + 4, 4);
    std::memcpy(&decoded.bandCount, payload.data + 8, 4);
    if (decoded.bandCount < 0 || decoded.bandCount > kSwishMaxBands)
    {
        error.set("%s record: field \"kernel_table\" holds %d bands, at most %d allowed", kOwner,
            static_cast<int>(decoded.bandCount), static_cast<int>(kSwishMaxBands));
        return false;
    }
    size_t const expected = noFormats ? payloadSizeV3(decoded.bandCount) : payloadSize(decoded.bandCount);
    if (payload.length != expected)
    {
        error.set("%s record: a payload with %d bands must be %zu bytes, got %zu", kOwner,
            static_cast<int>(decoded.bandCount), expected, payload.length);
        return false;
    }
    std::memcpy(decoded.table, payload.data + kSwishPayloadHeaderSize,
        static_cast<size_t>(decoded.bandCount) * 2 * sizeof(int32_t));
    decoded.formats = kSwishFormatsLinearOnly;
    if (!noFormats)
    {
        std::memcpy(&decoded.formats, payload.data + payloadSizeV3(decoded.bandCount), sizeof(int32_t));
    }
    params = decoded;
    return true;
}

} // namespace tpb
