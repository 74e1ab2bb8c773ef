#include "creatorNamespace.h"

#include <cstring>

namespace tpb
{

bool CreatorNamespace::set(char const* ns) noexcept
{
    char const* const text = ns == nullptr ? "" : ns;
    try
    {
        std::lock_guard<std::mutex> const lock(mMutex);
        for (std::string const& kept : mKept)
        {
            if (kept == text)
            {
                mCurrent.store(kept.c_str(), std::memory_order_release);
                return true;
            }
        }
        mKept.emplace_front(text);
        mCurrent.store(mKept.front().c_str(), std::memory_order_release);
        return true;
    }
    catch (...) // bad_alloc, or system_error from the lock
    {
        return false;
    }
}

} // namespace tpb
