#include "creatorRegistration.h"

#include <cstring>

namespace tpb
{
namespace
{

void markOwned(CreatorEntry const& entry, bool owned) noexcept
{
    if (entry.registeredByLibrary != nullptr)
    {
        *entry.registeredByLibrary = owned;
    }
}

RegisterOutcome decide(CreatorRegistry& registry, CreatorEntry const& entry, char const* ns, ErrorText& detail) noexcept
{
    char const* const wanted = ns == nullptr ? "" : ns;
    char const* const before = entry.ns->get(); // interned: stays valid whatever set() does later
    if (!registry.holds(entry.creator))
    {
        if (!entry.ns->set(wanted))
        {
            detail.set("%s: could not store namespace \"%s\" (out of memory): not registered", entry.label, wanted);
            return RegisterOutcome::kREFUSED;
        }
        if (registry.add(entry.creator, wanted))
        {
            detail.set("registerCreator(%s, \"%s\") registered it", entry.label, wanted);
            return RegisterOutcome::kREGISTERED;
        }
        entry.ns->set(before);
        detail.set("registerCreator(%s, \"%s\") REFUSED it (another creator of the same name and version holds that "
                   "namespace?): not registered",
            entry.label, wanted);
        return RegisterOutcome::kREFUSED;
    }
    if (std::strcmp(before, wanted) == 0)
    {
        detail.set("%s already registered under \"%s\": left as it is", entry.label, wanted);
        return RegisterOutcome::kALREADY;
    }
    if (!registry.canRemove())
    {
        detail.set("%s: registered under \"%s\"; not moved to \"%s\" (deregistering is unsafe with this TensorRT): "
                   "stays under \"%s\"",
            entry.label, before, wanted, before);
        return RegisterOutcome::kNOT_MOVABLE;
    }
    registry.remove(entry.creator);
    if (entry.ns->set(wanted) && registry.add(entry.creator, wanted))
    {
        detail.set("%s: moved from \"%s\" to \"%s\"", entry.label, before, wanted);
        return RegisterOutcome::kMOVED;
    }
    // Put it back where it was: a refused move must not leave it registered nowhere.
    entry.ns->set(before);
    if (registry.add(entry.creator, before))
    {
        detail.set("%s: the registry refused it under \"%s\" (another creator of the same name and version holds "
                   "that namespace): it stays registered under \"%s\"",
            entry.label, wanted, before);
        return RegisterOutcome::kKEPT;
    }
    detail.set("%s: the registry refused it under \"%s\" and again under \"%s\" when put back: not registered",
        entry.label, wanted, before);
    return RegisterOutcome::kLOST;
}

} // namespace

RegisterOutcome registerOnce(CreatorRegistry& registry, CreatorEntry const& entry, char const* ns, ErrorText& detail) noexcept
{
    RegisterOutcome const outcome = decide(registry, entry, ns, detail);
    // Registered by this call (or moved, or put back): the library's own registration holds it. One held
    // already is left as it was (a loader's stays the loader's).
    if (outcome == RegisterOutcome::kREGISTERED || outcome == RegisterOutcome::kMOVED || outcome == RegisterOutcome::kKEPT)
    {
        markOwned(entry, true);
    }
    else if (outcome == RegisterOutcome::kLOST)
    {
        markOwned(entry, false);
    }
    return outcome;
}

int32_t releaseForLoader(CreatorRegistry& registry, CreatorEntry const* entries, int32_t count, ErrorText& detail) noexcept
{
    int32_t released = 0;
    for (int32_t i = 0; entries != nullptr && i < count; ++i)
    {
        if (!registry.holds(entries[i].creator))
        {
            continue;
        }
        if (!registry.canRemove())
        {
            detail.set("%s stays registered (deregistering is unsafe with this TensorRT): the loader will refuse it "
                       "as a duplicate, the earlier registration remains",
                entries[i].label);
            continue;
        }
        if (registry.remove(entries[i].creator))
        {
            ++released;
            markOwned(entries[i], false); // the loader registers it next, and owns that registration
        }
    }
    return released;
}

int32_t deregisterOnUnload(CreatorRegistry& registry, CreatorEntry const* entries, int32_t count) noexcept
{
    int32_t removed = 0;
    if (!registry.canRemove())
    {
        return 0;
    }
    for (int32_t i = 0; entries != nullptr && i < count; ++i)
    {
        bool const owned = entries[i].registeredByLibrary == nullptr || *entries[i].registeredByLibrary;
        if (owned && registry.holds(entries[i].creator) && registry.remove(entries[i].creator))
        {
            ++removed;
            markOwned(entries[i], false);
        }
    }
    return removed;
}

} // namespace tpb
