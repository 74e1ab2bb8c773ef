#include "geluRecord.h"

#include "pluginRecord.h"

#include <algorithm>
#include <cstring>

namespace tpb
{
namespace
{

constexpr char kOwner[] = "GELU plugin";

int32_t clampedBands(GeluParams const& params) noexcept
{
    return std::max(0, std::min(params.bandCount, kGeluMaxBands));
}

size_t payloadSize(int32_t bands) noexcept
{
    return kGeluPayloadHeaderSize + static_cast<size_t>(bands) * 2 * sizeof(int32_t);
}

} // namespace

size_t geluRecordSize(GeluParams const& params) noexcept
{
    return recordSize(payloadSize(clampedBands(params)));
}

bool writeGeluRecord(GeluParams const& params, void* buffer, size_t capacity) noexcept
{
    int32_t const bands = clampedBands(params);
    unsigned char payload[kGeluPayloadHeaderSize + sizeof(params.table)]{};
    std::memcpy(payload, &params.approximation, 4);
    std::memcpy(payload + 4, &params.kernel, 4);
    std::memcpy(payload + 8, &bands, 4);
    std::memcpy(payload + kGeluPayloadHeaderSize, params.table, static_cast<size_t>(bands) * 2 * sizeof(int32_t));
    return writeRecord(kGeluRecordMagic, kGeluRecordVersion, payload, payloadSize(bands), buffer, capacity);
}

bool readGeluRecordPayload(void const* data, size_t length, GeluParams& params, ErrorText& error) noexcept
{
    RecordPayload payload;
    if (!readRecord(data, length, kGeluRecordMagic, kGeluRecordVersion, kOwner, payload, error))
    {
        return false;
    }
    if (payload.length < kGeluPayloadHeaderSize)
    {
        error.set("%s record: payload of %zu bytes, expected at least %zu (approximation, kernel, bandCount)", kOwner,
            payload.length, kGeluPayloadHeaderSize);
        return false;
    }
    GeluParams decoded;
    std::memcpy(&decoded.approximation, payload.data, 4);
    std::memcpy(&decoded.kernel, payload.data + 4, 4);
    std::memcpy(&decoded.bandCount, payload.data + 8, 4);
    if (decoded.bandCount < 0 || decoded.bandCount > kGeluMaxBands)
    {
        error.set("%s record: field \"kernel_table\" holds %d bands, at most %d allowed", kOwner,
            static_cast<int>(decoded.bandCount), static_cast<int>(kGeluMaxBands));
        return false;
    }
    if (payload.length != payloadSize(decoded.bandCount))
    {
        error.set("%s record: a payload with %d bands must be %zu bytes, got %zu", kOwner,
            static_cast<int>(decoded.bandCount), payloadSize(decoded.bandCount), payload.length);
        return false;
    }
    std::memcpy(decoded.table, payload.data + kGeluPayloadHeaderSize,
        static_cast<size_t>(decoded.bandCount) * 2 * sizeof(int32_t));
    params = decoded;
    return true;
}

} // namespace tpb
