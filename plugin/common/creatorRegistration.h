// The plugin libraries' registration bookkeeping, TensorRT-free: the decisions are made here against
// a small abstract registry (CreatorRegistry), which the library adapts to TensorRT's IPluginRegistry
// (api/swishPluginLibrary.cpp) and the host harness (plugin/tests/hostHarness.cpp) fakes, so that CI
// drives them under ASan/UBSan and, from several threads, TSan.
//
// Policy (plugin/README.md, "Registration"):
//   - registerOnce: a creator the registry holds under the wanted namespace is left alone; one held
//     under another namespace is moved (deregistered, re-registered), and if the registry refuses it
//     under the new namespace (another library's creator of the same name and version holds it) it is
//     put back where it was: never left registered nowhere. The outcome says which happened.
//   - releaseForLoader (getPluginCreators / getCreators): deregisters the creators the registry holds,
//     because the caller (TensorRT's loadLibrary) registers what those functions return right after;
//     a second registration would be refused and fail loadLibrary. From then on the loader owns their
//     registration (deregisterLibrary removes them before it unloads the library).
//   - deregisterOnUnload: when the library is unmapped (its UnloadDeregistrar is destroyed, at dlclose or
//     exit) every creator the library's own registration put in the registry and that it still holds is
//     deregistered: a creator whose code is unmapped must not stay listed. Those a loader owns are left to
//     it.
// Callers serialise these sequences under one mutex (the registry cannot make check-then-act atomic).
#pragma once

#include "creatorNamespace.h"
#include "errorText.h"

#include <cstdint>

namespace tpb
{

//! What registration needs of a plugin registry.
class CreatorRegistry
{
public:
    virtual ~CreatorRegistry() = default;
    //! Whether the registry lists this very creator object (by address).
    virtual bool holds(void const* creator) noexcept = 0;
    //! registerCreator(creator, ns): false when refused (e.g. the name/version/namespace is taken).
    virtual bool add(void* creator, char const* ns) noexcept = 0;
    //! deregisterCreator(creator): false when the registry did not hold it.
    virtual bool remove(void* creator) noexcept = 0;
    //! Whether remove may be called at all (TensorRT 8.6.0 vs 8.6.1 vtable layouts, see the library).
    virtual bool canRemove() const noexcept = 0;
};

//! One creator of the library: the pointer the registry stores, a label for messages, its namespace,
//! and whether the library's own registration holds it now (set by registerOnce, cleared when it is
//! handed to a loader or deregistered at unload; guarded by the caller's registration mutex).
struct CreatorEntry
{
    void* creator;
    char const* label;
    CreatorNamespace* ns;
    bool* registeredByLibrary;
};

enum class RegisterOutcome : int32_t
{
    kALREADY = 0,     //!< held under the wanted namespace already: nothing done
    kREGISTERED = 1,  //!< was not held; registered under the wanted namespace
    kMOVED = 2,       //!< was held under another namespace; now under the wanted one
    kREFUSED = 3,     //!< was not held; the registry refused it (still not registered)
    kKEPT = 4,        //!< held under another namespace; the registry refused the wanted one, so it stays
                      //!< registered where it was
    kNOT_MOVABLE = 5, //!< held under another namespace and remove is unsafe: stays where it was
    kLOST = 6,        //!< moved out and could not be put back (the registry refused both): not registered
};

//! Whether \p outcome leaves the creator registered under the wanted namespace.
constexpr bool registeredThere(RegisterOutcome outcome) noexcept
{
    return outcome == RegisterOutcome::kALREADY || outcome == RegisterOutcome::kREGISTERED
        || outcome == RegisterOutcome::kMOVED;
}

//! Registers \p entry under \p ns (see the policy at the top). \p detail describes the outcome.
RegisterOutcome registerOnce(CreatorRegistry& registry, CreatorEntry const& entry, char const* ns, ErrorText& detail) noexcept;

//! Deregisters those of \p entries the registry holds (getPluginCreators / getCreators). Returns how
//! many were released; where remove is unsafe nothing is released and \p detail says so.
int32_t releaseForLoader(CreatorRegistry& registry, CreatorEntry const* entries, int32_t count, ErrorText& detail) noexcept;

//! Deregisters those of \p entries that the library's own registration holds in the registry (not those
//! handed to a loader); returns how many (the library's unload).
int32_t deregisterOnUnload(CreatorRegistry& registry, CreatorEntry const* entries, int32_t count) noexcept;

} // namespace tpb
