// Checked element counts of a tensor's dims (TensorRT-free, header-only: the dims element type is
// int32_t in TensorRT 8.x and int64_t from 10 on; the host harness drives both under ASan/UBSan).
//
// The rule every enqueue follows: a rank outside 0 .. kMaxTensorRank or a negative dimension is
// refused; any dimension 0 makes the count 0 (really empty: nothing to launch, success); otherwise the
// product of the dimensions, refused if it exceeds INT64_MAX (never wrapped, so a wrapped product can
// never read as 0 and skip a launch). Dims are read only after the rank is checked (d[8] is never read).
#pragma once

#include "errorText.h"

#include <cstdint>
#include <limits>

namespace tpb
{

//! Most dimensions a TensorRT Dims holds (Dims::MAX_DIMS in 8.6 to 11).
constexpr int32_t kMaxTensorRank = 8;

//! The element count of \p nbDims dims at \p d (see the top); false with \p error set otherwise.
//! \p what names the tensor in the message. \p count is written only on success.
template <typename Dim>
bool checkedElementCount(Dim const* d, int32_t nbDims, int64_t& count, ErrorText& error, char const* what) noexcept
{
    if (nbDims < 0 || nbDims > kMaxTensorRank)
    {
        error.set("%s: rank %d is outside 0 .. %d", what, static_cast<int>(nbDims), static_cast<int>(kMaxTensorRank));
        return false;
    }
    if (nbDims > 0 && d == nullptr)
    {
        error.set("%s: rank %d but no dimensions", what, static_cast<int>(nbDims));
        return false;
    }
    bool empty = false;
    for (int32_t i = 0; i < nbDims; ++i)
    {
        if (d[i] < 0)
        {
            error.set("%s: dimension %d is %lld (negative: unresolved or invalid)", what, static_cast<int>(i),
                static_cast<long long>(d[i]));
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
            error.set("%s: the element count overflows int64 at dimension %d (%lld x %lld)", what, static_cast<int>(i),
                static_cast<long long>(product), static_cast<long long>(dim));
            return false;
        }
        product *= dim;
    }
    count = product;
    return true;
}

//! \p count x \p elementSize bytes; false with \p error set when that exceeds INT64_MAX.
inline bool checkedByteCount(int64_t count, int64_t elementSize, int64_t& bytes, ErrorText& error, char const* what) noexcept
{
    if (count < 0 || elementSize <= 0 || count > std::numeric_limits<int64_t>::max() / elementSize)
    {
        error.set("%s: %lld elements of %lld bytes overflow int64", what, static_cast<long long>(count),
            static_cast<long long>(elementSize));
        return false;
    }
    bytes = count * elementSize;
    return true;
}

} // namespace tpb
