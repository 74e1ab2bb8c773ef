// The HardSwish plugin's checkable logic, free of TensorRT and CUDA: the "alpha" field, the serialised
// record and the element count. hardSwishPlugin.cpp converts TensorRT's types to these plain ones and
// logs what these functions say is wrong; the project's host harness (plugin/tests/hostHarness.cpp)
// drives this file under ASan/UBSan with no TensorRT installed. Self-contained: copy it with the rest.
//
// Record (format version 2; version 1 was the bare 4 bytes of alpha, refused now), native byte order:
//   uint32 magic 0x50535748 ("HWSP" in little-endian order), uint32 version 2, uint32 payload length 4,
//   float alpha, uint32 CRC-32 (IEEE, reflected 0xEDB88320) of the 16 bytes before it. 20 bytes.
// CRC-32 catches every change of up to 32 consecutive bits, so every single-byte change is refused.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>

namespace byo
{

//! What is wrong, as one line (fixed size: never allocates, never throws).
class Problem
{
public:
    __attribute__((format(printf, 2, 3))) void set(char const* format, ...) noexcept
    {
        va_list arguments;
        va_start(arguments, format);
        std::vsnprintf(mText, sizeof(mText), format, arguments);
        va_end(arguments);
    }
    char const* c_str() const noexcept
    {
        return mText;
    }

private:
    char mText[320]{};
};

// -- the "alpha" field ----------------------------------------------------------------------------
constexpr float kHardSwishDefaultAlpha = 1.0F;
//! More fields than this are refused before any is read (the plugin has one).
constexpr int32_t kHardSwishMaxFields = 16;

enum class FieldKind : int32_t
{
    kFloat32 = 0,
    kOther = 1,
};

//! One field of a PluginFieldCollection, in plain types.
struct FieldView
{
    char const* name;
    void const* data;
    FieldKind kind;
    int32_t length;
};

//! alpha from \p nbFields fields at \p fields (nbFields 0: the default). Refused, with \p problem
//! saying why: nbFields < 0 or > kHardSwishMaxFields, fields null with nbFields > 0, a field without a
//! name, a name other than "alpha", "alpha" twice, a type other than float32, a length other than 1,
//! null data, a non-finite value. \p alpha is written only on success.
bool parseHardSwishFields(FieldView const* fields, int32_t nbFields, float& alpha, Problem& problem) noexcept;

// -- the record -----------------------------------------------------------------------------------
constexpr uint32_t kHardSwishRecordMagic = 0x50535748U;
constexpr uint32_t kHardSwishRecordVersion = 2;
constexpr size_t kHardSwishRecordSize = 20;

uint32_t hardSwishCrc32(unsigned char const* data, size_t length) noexcept;

//! Writes the 20-byte record; false unless \p buffer is non-null and \p capacity is exactly 20.
bool writeHardSwishRecord(float alpha, void* buffer, size_t capacity) noexcept;

//! Reads a record: its size, magic, version, payload length and checksum, then a finite alpha.
//! False with \p problem set (and \p alpha untouched) on any problem; the old 4-byte record is named.
bool readHardSwishRecord(void const* data, size_t length, float& alpha, Problem& problem) noexcept;

// -- element counts -------------------------------------------------------------------------------
//! Most dimensions a TensorRT Dims holds.
constexpr int32_t kHardSwishMaxRank = 8;

//! The element count of \p nbDims dims at \p d (int32_t in TensorRT 8.x, int64_t from 10 on): a rank
//! outside 0 .. 8, a negative dim, or a product over INT64_MAX is refused (d is read only after the
//! rank is checked); a dim of 0 gives 0, never a wrapped product. \p count is written only on success.
template <typename Dim>
bool hardSwishElementCount(Dim const* d, int32_t nbDims, int64_t& count, Problem& problem) noexcept
{
    if (nbDims < 0 || nbDims > kHardSwishMaxRank || (nbDims > 0 && d == nullptr))
    {
        problem.set("input rank %d is outside 0 .. %d (or has no dims)", static_cast<int>(nbDims),
            static_cast<int>(kHardSwishMaxRank));
        return false;
    }
    bool empty = false;
    for (int32_t i = 0; i < nbDims; ++i)
    {
        if (d[i] < 0)
        {
            problem.set("input dimension %d is %lld (negative)", static_cast<int>(i), static_cast<long long>(d[i]));
            return false;
        }
        empty = empty || d[i] == 0;
    }
    if (empty)
    {
        count = 0;
        return true;
    }
    int64_t product = 1;
    for (int32_t i = 0; i < nbDims; ++i)
    {
        int64_t const dim = static_cast<int64_t>(d[i]);
        if (product > std::numeric_limits<int64_t>::max() / dim)
        {
            problem.set("input element count overflows int64 at dimension %d", static_cast<int>(i));
            return false;
        }
        product *= dim;
    }
    count = product;
    return true;
}

} // namespace byo
