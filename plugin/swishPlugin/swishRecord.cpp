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

size_t payloadSize(int32_t bands) noexcept
{
    return kSwishPayloadHeaderSize + static_cast<size_t>(bands) * 2 * sizeof(int32_t);
}

} // namespace

size_t swishRecordSize(SwishParams const& params) noexcept
{
    return recordSize(payloadSize(clampedBands(params)));
}

bool writeSwishRecord(SwishParams const& params, void* buffer, size_t capacity) noexcept
{
    int32_t const bands = clampedBands(params);
    unsigned char payload[kSwishPayloadHeaderSize + sizeof(params.table)]{};
    std::memcpy(payload, &params.beta, 4);
    std::memcpy(payload + 4, &params.kernel, 4);
    std::memcpy(payload + 8, &bands, 4);
    std::memcpy(payload + kSwishPayloadHeaderSize, params.table, static_cast<size_t>(bands) * 2 * sizeof(int32_t));
    return writeRecord(kSwishRecordMagic, kSwishRecordVersion, payload, payloadSize(bands), buffer, capacity);
}

bool readSwishRecordPayload(void const* data, size_t length, SwishParams& params, ErrorText& error) noexcept
{
    RecordPayload payload;
    if (!readRecord(data, length, kSwishRecordMagic, kSwishRecordVersion, kOwner, payload, error))
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
    if (payload.length != payloadSize(decoded.bandCount))
    {
        error.set("%s record: a payload with %d bands must be %zu bytes, got %zu", kOwner,
            static_cast<int>(decoded.bandCount), payloadSize(decoded.bandCount), payload.length);
        return false;
    }
    std::memcpy(decoded.table, payload.data + kSwishPayloadHeaderSize,
        static_cast<size_t>(decoded.bandCount) * 2 * sizeof(int32_t));
    params = decoded;
    return true;
}

} // namespace tpb
