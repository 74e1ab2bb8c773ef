#include "hardSwishCore.h"

#include <cmath>
#include <cstring>

namespace byo
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

bool parseHardSwishFields(FieldView const* fields, int32_t nbFields, float& alpha, Problem& problem) noexcept
{
    if (nbFields < 0 || nbFields > kHardSwishMaxFields)
    {
        problem.set("malformed field collection: nbFields=%d (0 .. %d allowed; the one field is \"alpha\")",
            static_cast<int>(nbFields), static_cast<int>(kHardSwishMaxFields));
        return false;
    }
    if (nbFields > 0 && fields == nullptr)
    {
        problem.set("malformed field collection: nbFields=%d but no fields", static_cast<int>(nbFields));
        return false;
    }
    float value = kHardSwishDefaultAlpha;
    bool seen = false;
    for (int32_t i = 0; i < nbFields; ++i)
    {
        FieldView const& field = fields[i];
        if (field.name == nullptr)
        {
            problem.set("field %d has no name (allowed: \"alpha\")", static_cast<int>(i));
            return false;
        }
        if (std::strcmp(field.name, "alpha") != 0)
        {
            problem.set("unknown field \"%s\" (allowed: \"alpha\")", field.name);
            return false;
        }
        if (seen)
        {
            problem.set("field \"alpha\" given more than once");
            return false;
        }
        seen = true;
        if (field.kind != FieldKind::kFloat32 || field.length != 1)
        {
            problem.set("field \"alpha\" must be one kFLOAT32 value (got %s, length %d)",
                field.kind == FieldKind::kFloat32 ? "kFLOAT32" : "another type", static_cast<int>(field.length));
            return false;
        }
        if (field.data == nullptr)
        {
            problem.set("field \"alpha\" has no data");
            return false;
        }
        std::memcpy(&value, field.data, sizeof(value));
    }
    if (!std::isfinite(value))
    {
        problem.set("alpha must be finite, got %g", static_cast<double>(value));
        return false;
    }
    alpha = value;
    return true;
}

uint32_t hardSwishCrc32(unsigned char const* data, size_t length) noexcept
{
    uint32_t crc = 0xFFFFFFFFU;
    for (size_t i = 0; i < length; ++i)
    {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit)
        {
            crc = (crc >> 1) ^ (0xEDB88320U & (0U - (crc & 1U)));
        }
    }
    return ~crc;
}

bool writeHardSwishRecord(float alpha, void* buffer, size_t capacity) noexcept
{
    if (buffer == nullptr || capacity != kHardSwishRecordSize)
    {
        return false;
    }
    auto* out = static_cast<unsigned char*>(buffer);
    putU32(out, kHardSwishRecordMagic);
    putU32(out + 4, kHardSwishRecordVersion);
    putU32(out + 8, sizeof(float));
    std::memcpy(out + 12, &alpha, sizeof(float));
    putU32(out + 16, hardSwishCrc32(out, 16));
    return true;
}

bool readHardSwishRecord(void const* data, size_t length, float& alpha, Problem& problem) noexcept
{
    if (data == nullptr)
    {
        problem.set("the serialized plugin is null");
        return false;
    }
    auto const* in = static_cast<unsigned char const*>(data);
    if (length == sizeof(float))
    {
        problem.set("a 4-byte record (the old format: alpha alone, no magic or checksum): rebuild the engine with "
                    "this plugin");
        return false;
    }
    if (length != kHardSwishRecordSize)
    {
        problem.set("the serialized plugin is %zu bytes, a HardSwish record is %zu", length, kHardSwishRecordSize);
        return false;
    }
    if (getU32(in) != kHardSwishRecordMagic)
    {
        problem.set("no HardSwish magic 0x%08x (found 0x%08x): not a HardSwish record",
            static_cast<unsigned>(kHardSwishRecordMagic), static_cast<unsigned>(getU32(in)));
        return false;
    }
    if (getU32(in + 4) != kHardSwishRecordVersion)
    {
        problem.set("unsupported record version %u (this plugin reads %u)", static_cast<unsigned>(getU32(in + 4)),
            static_cast<unsigned>(kHardSwishRecordVersion));
        return false;
    }
    if (getU32(in + 8) != sizeof(float))
    {
        problem.set("payload length %u, expected %zu", static_cast<unsigned>(getU32(in + 8)), sizeof(float));
        return false;
    }
    uint32_t const stored = getU32(in + 16);
    uint32_t const computed = hardSwishCrc32(in, 16);
    if (stored != computed)
    {
        problem.set("checksum mismatch (stored 0x%08x, computed 0x%08x): the record is corrupt",
            static_cast<unsigned>(stored), static_cast<unsigned>(computed));
        return false;
    }
    float value = 0.0F;
    std::memcpy(&value, in + 12, sizeof(value));
    if (!std::isfinite(value))
    {
        problem.set("the serialized alpha is not finite");
        return false;
    }
    alpha = value;
    return true;
}

} // namespace byo
