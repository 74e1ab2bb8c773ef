// A fixed-size, printf-formatted error message for the TensorRT-free units (records, element counts,
// registration, runner arguments): they describe what is wrong here, and the TensorRT-facing wrapper
// logs it through the plugin's logger. Never allocates, never throws.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdio>

namespace tpb
{

class ErrorText
{
public:
    //! Replaces the message.
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

    bool empty() const noexcept
    {
        return mText[0] == '\0';
    }

    void clear() noexcept
    {
        mText[0] = '\0';
    }

private:
    char mText[400]{};
};

} // namespace tpb
