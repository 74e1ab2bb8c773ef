// Minimal bounds-checked (de)serialisation of trivially copyable values into a byte buffer.
// Values are copied with memcpy, so the buffer needs no particular alignment. Native byte order:
// engines are not portable across architectures anyway.
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>

namespace tpb
{

//! Appends values to a caller-provided buffer of known capacity. A write that does not fit
//! writes nothing and returns false (and so does every later write).
class ByteWriter
{
public:
    ByteWriter(void* buffer, size_t capacity) noexcept
        : mBuffer(static_cast<unsigned char*>(buffer))
        , mCapacity(buffer == nullptr ? 0 : capacity)
    {
    }

    template <typename T>
    bool write(T const& value) noexcept
    {
        static_assert(std::is_trivially_copyable<T>::value, "only trivially copyable values can be serialized");
        if (!mOk || mCapacity - mOffset < sizeof(T))
        {
            mOk = false;
            return false;
        }
        std::memcpy(mBuffer + mOffset, &value, sizeof(T));
        mOffset += sizeof(T);
        return true;
    }

    size_t written() const noexcept
    {
        return mOffset;
    }
    bool ok() const noexcept
    {
        return mOk;
    }

private:
    unsigned char* mBuffer;
    size_t mCapacity;
    size_t mOffset{0};
    bool mOk{true};
};

//! Reads values from a buffer of known length; never reads past the end. A read that does not fit
//! leaves the value untouched and returns false (and so does every later read).
class ByteReader
{
public:
    ByteReader(void const* buffer, size_t length) noexcept
        : mBuffer(static_cast<unsigned char const*>(buffer))
        , mLength(buffer == nullptr ? 0 : length)
    {
    }

    template <typename T>
    bool read(T& value) noexcept
    {
        static_assert(std::is_trivially_copyable<T>::value, "only trivially copyable values can be deserialized");
        if (!mOk || mLength - mOffset < sizeof(T))
        {
            mOk = false;
            return false;
        }
        std::memcpy(&value, mBuffer + mOffset, sizeof(T));
        mOffset += sizeof(T);
        return true;
    }

    size_t remaining() const noexcept
    {
        return mLength - mOffset;
    }
    bool ok() const noexcept
    {
        return mOk;
    }

private:
    unsigned char const* mBuffer;
    size_t mLength;
    size_t mOffset{0};
    bool mOk{true};
};

} // namespace tpb
