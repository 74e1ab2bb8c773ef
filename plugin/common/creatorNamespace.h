// A creator's plugin namespace, safe to set and read from any thread (TensorRT-free; the host
// harness drives it from several threads under TSan in CI).
//
// The rule: getPluginNamespace() returns a pointer that stays valid, and its text unchanged, for as
// long as the CreatorNamespace lives (the library's lifetime for the creators, which are
// function-local statics): every namespace ever set is kept (interned, once per distinct text), and
// set() only swaps which one is current (an atomic pointer). A reader racing with set() sees the old
// or the new namespace, whole, never a freed or half-written string. Memory is bounded by the distinct
// namespaces set over the library's life (a handful).
#pragma once

#include <atomic>
#include <forward_list>
#include <mutex>
#include <string>

namespace tpb
{

class CreatorNamespace
{
public:
    CreatorNamespace() noexcept = default;
    CreatorNamespace(CreatorNamespace const&) = delete;
    CreatorNamespace& operator=(CreatorNamespace const&) = delete;

    //! Makes \p ns (nullptr: "") current. False, current unchanged, if it could not be stored.
    bool set(char const* ns) noexcept;

    //! The current namespace ("" before any set); valid for the object's lifetime (see the top).
    char const* get() const noexcept
    {
        return mCurrent.load(std::memory_order_acquire);
    }

private:
    std::mutex mMutex;                       //!< guards mKept (interning)
    std::forward_list<std::string> mKept;    //!< every namespace set so far; nodes never move or die
    std::atomic<char const*> mCurrent{""};
};

} // namespace tpb
