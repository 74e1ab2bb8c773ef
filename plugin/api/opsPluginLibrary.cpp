// libtpb_ops_plugin.so's entry points: the one place where the operators' plugin creators (GELU; the
// LayerNorm and residual-add + RMSNorm creators join the list below) are handed to TensorRT.
//
// The registration design is api/swishPluginLibrary.cpp's (read its header comment: why no
// REGISTER_TENSORRT_PLUGIN, how a plain dlopen, IPluginRegistry::loadLibrary and the init function each
// register every creator exactly once, the 8.6.0 / 8.6.1 registry vtable difference, TPB_PLUGIN_DEBUG),
// with the decisions in common/creatorRegistration.cpp (TensorRT-free, driven by the host harness in CI).
// What differs: the creators are ONE list (THE CREATOR LIST below, an X-macro walked by every entry
// point), so adding an operator is adding its lines there and its headers above; no planted faults
// (the bad-plugin fixture is Swish's).
//   getPluginCreators  - TensorRT 8.6 style: the IPluginCreator (V2) creators of the list.
//   getCreators        - TensorRT >= 10: every creator (V2 + V3) as IPluginCreatorInterface.
//   setLoggerFinder    - gives the library a way to reach TensorRT's ILogger.
//   initTpbOpsPlugins  - registers the creators with the loaded libnvinfer's registry (the role of
//                        initLibNvInferPlugins, for hosts that dlopen the library themselves).
#include "NvInferRuntime.h"

#include "creatorRegistration.h"
#include "pluginLog.h"
// ---- the operators' creator headers ---------------------------------------------------------------
// GELU (plugin/geluPlugin)
#include "geluPlugin.h"
#include "geluPluginLegacy.h"
// LayerNorm (plugin/layerNormPlugin)
#include "layerNormPlugin.h"
#include "layerNormPluginLegacy.h"
// residual-add + RMSNorm (plugin/residualRmsNormPlugin)
#include "residualRmsNormPlugin.h"
#include "residualRmsNormPluginLegacy.h"
// ------------------------------------------------------------------------------------------------------

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>

#define TPB_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))
#define TPB_STRINGIFY_IMPL(x) #x
#define TPB_STRINGIFY(x) TPB_STRINGIFY_IMPL(x)
#ifndef TPB_PLUGIN_NAMESPACE_ID
#define TPB_PLUGIN_NAMESPACE_ID
#endif

namespace
{

//! TPB_PLUGIN_DEBUG set (and not "0"): read once, immutable afterwards.
bool debugEnabled() noexcept
{
    static bool const enabled = []
    {
        char const* const value = std::getenv("TPB_PLUGIN_DEBUG");
        return value != nullptr && value[0] != '\0' && std::strcmp(value, "0") != 0;
    }();
    return enabled;
}

//! One diagnostic line on stderr (not TensorRT's logger: the point is to be seen also when no
//! logger is reachable, which is one of the things being diagnosed).
__attribute__((format(printf, 1, 2))) void debugLine(char const* format, ...) noexcept
{
    if (!debugEnabled())
    {
        return;
    }
    char line[768];
    va_list arguments;
    va_start(arguments, format);
    std::vsnprintf(line, sizeof(line), format, arguments);
    va_end(arguments);
    std::fprintf(stderr, "[tpb-ops-plugin debug] %s\n", line);
    std::fflush(stderr);
}

//! The file of the loaded object that holds \p address ("?" if none).
char const* objectOf(void const* address) noexcept
{
    Dl_info info{};
    return address != nullptr && dladdr(address, &info) != 0 && info.dli_fname != nullptr ? info.dli_fname : "?";
}

//! The creator namespace this build registers under (CMake option TPB_PLUGIN_NAMESPACE, "" by
//! default): at load, for initTpbOpsPlugins(nullptr), and the creators' namespace before any
//! registration (what loadLibrary registers them under). A second copy of the library, built from
//! another revision with its own namespace (and TPB_LIBRARY_SUFFIX), then lives beside the first.
constexpr char kDefaultNamespace[] = TPB_STRINGIFY(TPB_PLUGIN_NAMESPACE_ID);

//! One instance of creator class \p Creator per library: a function-local static (constructed on first
//! use, whatever the static initialisation order: the creators' constructors read only constexpr tables),
//! shared by every entry point so that a namespace set through one is seen through the others, and named
//! with this build's namespace once, before it is handed out.
template <typename Creator>
Creator& creatorInstance() noexcept
{
    static Creator creator;
    static bool const named = (creator.setPluginNamespace(kDefaultNamespace), true);
    static_cast<void>(named);
    return creator;
}

// ======================================================================================================
// THE CREATOR LIST: every creator of libtpb_ops_plugin.so, in one place. X(CreatorClass, "label") per
// creator; the label names it in diagnostics. A creator class must be default-constructible, derive from
// nvinfer1::IPluginCreator (TPB_OPS_LEGACY_CREATORS, IPluginV2DynamicExt plugins, what TensorRT 8.6 loads)
// or nvinfer1::IPluginCreatorV3One (TPB_OPS_V3_CREATORS, TensorRT >= 10 only), and expose
// `tpb::CreatorNamespace& namespaceSlot() noexcept` (its getPluginNamespace storage; see
// plugin/geluPlugin/geluPluginLegacy.h). Nothing else in this file names an operator: registration at
// load, initTpbOpsPlugins, getPluginCreators / getCreators and the unload all walk these lists.
// ======================================================================================================
#define TPB_OPS_LEGACY_CREATORS(X)                                                                             \
    X(tpb::GeluPluginLegacyCreator, "Gelu v1 (IPluginCreator)")                                                \
    X(tpb::LayerNormPluginLegacyCreator, "TpbLayerNorm v1 (IPluginCreator)")                                   \
    X(tpb::ResidualRmsNormPluginLegacyCreator, "TpbResidualRmsNorm v1 (IPluginCreator)")

#if NV_TENSORRT_MAJOR >= 10
#define TPB_OPS_V3_CREATORS(X)                                                                                 \
    X(tpb::GeluPluginCreator, "Gelu v2 (IPluginCreatorV3One)")                                                 \
    X(tpb::LayerNormPluginCreator, "TpbLayerNorm v2 (IPluginCreatorV3One)")                                    \
    X(tpb::ResidualRmsNormPluginCreator, "TpbResidualRmsNorm v2 (IPluginCreatorV3One)")
//! The type the registry stores: every creator kind from TensorRT 10 on, IPluginCreator before.
using RegistryCreator = nvinfer1::IPluginCreatorInterface;
#else
#define TPB_OPS_V3_CREATORS(X)
using RegistryCreator = nvinfer1::IPluginCreator;
#endif

#define TPB_OPS_COUNT_ONE(Creator, label) +1
constexpr int32_t kLegacyCreatorCount = 0 TPB_OPS_LEGACY_CREATORS(TPB_OPS_COUNT_ONE);
constexpr int32_t kCreatorCount = kLegacyCreatorCount TPB_OPS_V3_CREATORS(TPB_OPS_COUNT_ONE);
#undef TPB_OPS_COUNT_ONE
static_assert(kLegacyCreatorCount >= 1, "the library registers at least one IPluginCreator (TensorRT 8.6)");

//! One creator of the list, as the registration code sees it.
struct CreatorRef
{
    RegistryCreator* registryCreator; //!< the pointer the registry stores
    char const* label;
    tpb::CreatorNamespace* ns;
};

//! Every creator, legacy ones first (getPluginCreators hands out the first kLegacyCreatorCount).
struct AllCreators
{
    CreatorRef refs[kCreatorCount];
};

AllCreators allCreators() noexcept
{
#define TPB_OPS_REF(Creator, label)                                                                            \
    CreatorRef{static_cast<RegistryCreator*>(&creatorInstance<Creator>()), label,                              \
        &creatorInstance<Creator>().namespaceSlot()},
    AllCreators all{{TPB_OPS_LEGACY_CREATORS(TPB_OPS_REF) TPB_OPS_V3_CREATORS(TPB_OPS_REF)}};
#undef TPB_OPS_REF
    return all;
}

//! Serialises our check-then-register sequences (see the top). Function-local: constructed on first
//! use, also when that use is registerAtLoad during the library's own initialisation.
std::mutex& registrationMutex() noexcept
{
    static std::mutex mutex;
    return mutex;
}

//! How many creators the registry lists, and how many of them are this library's (diagnostics).
//! Every creator the registry holds (\p count of them), whatever their namespace.
RegistryCreator* const* registryCreators(nvinfer1::IPluginRegistry& registry, int32_t& count) noexcept
{
#if NV_TENSORRT_MAJOR >= 10
    return registry.getAllCreators(&count);
#else
    return registry.getPluginCreatorList(&count);
#endif
}

void debugRegistryContents(nvinfer1::IPluginRegistry& registry, char const* when) noexcept
{
    if (!debugEnabled())
    {
        return;
    }
    int32_t count = 0;
    RegistryCreator* const* creators = registryCreators(registry, count);
    int32_t ours = 0;
    AllCreators const all = allCreators();
    for (int32_t i = 0; creators != nullptr && i < count; ++i)
    {
        for (CreatorRef const& ref : all.refs)
        {
            ours += creators[i] == ref.registryCreator ? 1 : 0;
        }
    }
    debugLine("%s: the registry lists %d creators, %d of them this library's (of %d)", when, static_cast<int>(count),
        static_cast<int>(ours), static_cast<int>(kCreatorCount));
}

//! True when \p registry holds this very creator object (under whatever namespace it was given).
//! A scan of the registry's list, not a lookup by name: TensorRT logs an error for a lookup that
//! finds nothing, and a same-named creator of another library is not ours.
bool registeredNow(nvinfer1::IPluginRegistry& registry, RegistryCreator const& creator) noexcept
{
    int32_t count = 0;
    RegistryCreator* const* creators = registryCreators(registry, count);
    for (int32_t i = 0; creators != nullptr && i < count; ++i)
    {
        if (creators[i] == &creator)
        {
            return true;
        }
    }
    return false;
}

//! True when both addresses lie in the same loaded object.
bool sameObject(void const* first, void const* second) noexcept
{
    Dl_info firstInfo{};
    Dl_info secondInfo{};
    return dladdr(first, &firstInfo) != 0 && dladdr(second, &secondInfo) != 0
        && firstInfo.dli_fbase == secondInfo.dli_fbase;
}

//! A symbol of the libnvinfer this process already loaded, found at run time so this library needs
//! no link-time dependency on libnvinfer: the global scope first (a host linked against it), then
//! libnvinfer by soname if it was loaded privately (Python's tensorrt module, RTLD_LOCAL). With
//! \p sibling, only a symbol in the same loaded object as \p sibling counts: "getLogger" is a generic
//! name that another library could export too, and only the one beside getPluginRegistry is
//! TensorRT's. The RTLD_NOLOAD handle is never closed, so the symbol stays valid as long as this
//! library. Never loads a libnvinfer itself: the process's own TensorRT is the one to register with.
//! \p via (diagnostics) receives how the symbol was found.
void* loadedNvinferSymbol(char const* name, void const* sibling = nullptr, char const** via = nullptr) noexcept
{
    auto const usable = [sibling](void const* symbol) noexcept
    { return symbol != nullptr && (sibling == nullptr || sameObject(symbol, sibling)); };
    if (void* symbol = dlsym(RTLD_DEFAULT, name); usable(symbol))
    {
        if (via != nullptr)
        {
            *via = "dlsym(RTLD_DEFAULT)";
        }
        return symbol;
    }
    static constexpr char const* kCandidates[]
        = {"libnvinfer.so." TPB_STRINGIFY(NV_TENSORRT_MAJOR), "libnvinfer.so"};
    for (char const* library : kCandidates)
    {
        if (void* handle = dlopen(library, RTLD_NOW | RTLD_NOLOAD))
        {
            if (void* symbol = dlsym(handle, name); usable(symbol))
            {
                if (via != nullptr)
                {
                    *via = library; // the soname, loaded already (RTLD_NOLOAD)
                }
                return symbol;
            }
        }
    }
    return nullptr;
}

//! libnvinfer's getInferLibVersion() beside \p getRegistrySymbol, or -1 when it exports none.
int32_t loadedNvinferVersion(void const* getRegistrySymbol) noexcept
{
    using GetVersion = int32_t (*)();
    void* const symbol = loadedNvinferSymbol("getInferLibVersion", getRegistrySymbol);
    return symbol == nullptr ? -1 : reinterpret_cast<GetVersion>(symbol)();
}

//! Whether IPluginRegistry's virtuals past getPluginCreator (deregisterCreator here) sit where these
//! headers put them in the loaded libnvinfer's vtable: 8.6.0 and 8.6.>=1 differ (see the top); other
//! releases are taken to match their headers' major version (the loader refuses a major mismatch).
bool abiMatches(int32_t libraryVersion) noexcept
{
#if NV_TENSORRT_MAJOR == 8 && NV_TENSORRT_MINOR == 6
    if (libraryVersion < 8600 || libraryVersion > 8699)
    {
        return libraryVersion < 0; // unknown version: nothing better to go by
    }
    return (libraryVersion == 8600) == (NV_TENSORRT_PATCH == 0);
#else
    static_cast<void>(libraryVersion);
    return true;
#endif
}

//! The loaded libnvinfer: its plugin registry, the getPluginRegistry symbol and whether its registry
//! vtable matches these headers past getPluginCreator (abiMatches).
struct LoadedNvinfer
{
    nvinfer1::IPluginRegistry* registry{nullptr};
    void* getRegistrySymbol{nullptr};
    bool abiMatches{true};
};

//! Finds the libnvinfer this process loaded (registry nullptr: none loaded, or it returned none).
//! \p caller names the entry point in the diagnostics.
LoadedNvinfer loadedNvinfer(char const* caller) noexcept
{
    LoadedNvinfer found;
    char const* via = "";
    found.getRegistrySymbol = loadedNvinferSymbol("getPluginRegistry", nullptr, &via);
    if (found.getRegistrySymbol == nullptr)
    {
        debugLine("%s: no loaded object exports getPluginRegistry (searched the global scope and the loaded "
                  "libnvinfer.so." TPB_STRINGIFY(NV_TENSORRT_MAJOR) " / libnvinfer.so): nothing to register with",
            caller);
        return found;
    }
    int32_t const version = loadedNvinferVersion(found.getRegistrySymbol);
    found.abiMatches = abiMatches(version);
    using GetRegistry = nvinfer1::IPluginRegistry* (*) ();
    found.registry = reinterpret_cast<GetRegistry>(found.getRegistrySymbol)();
    debugLine("%s: getPluginRegistry from %s (found by %s), getInferLibVersion %d, headers %d.%d.%d, registry %p%s",
        caller, objectOf(found.getRegistrySymbol), via, static_cast<int>(version), NV_TENSORRT_MAJOR,
        NV_TENSORRT_MINOR, NV_TENSORRT_PATCH, static_cast<void*>(found.registry),
        found.abiMatches ? "" : "; registry vtable layout differs from these headers: deregisterCreator not called");
    return found;
}

//! TensorRT's IPluginRegistry as the CreatorRegistry the registration bookkeeping decides against
//! (common/creatorRegistration.h, TensorRT-free, driven by the host harness in CI). The creators are
//! handed over as RegistryCreator* converted to void*, and converted back here.
class NvinferCreatorRegistry final : public tpb::CreatorRegistry
{
public:
    NvinferCreatorRegistry(nvinfer1::IPluginRegistry& registry, bool abiMatches) noexcept
        : mRegistry(registry)
        , mAbiMatches(abiMatches)
    {
    }

    bool holds(void const* creator) noexcept override
    {
        return registeredNow(mRegistry, *static_cast<RegistryCreator const*>(creator));
    }

    bool add(void* creator, char const* ns) noexcept override
    {
        return mRegistry.registerCreator(*static_cast<RegistryCreator*>(creator), ns);
    }

    bool remove(void* creator) noexcept override
    {
        return mAbiMatches && mRegistry.deregisterCreator(*static_cast<RegistryCreator const*>(creator));
    }

    bool canRemove() const noexcept override
    {
        return mAbiMatches;
    }

private:
    nvinfer1::IPluginRegistry& mRegistry;
    bool const mAbiMatches;
};

//! Whether the library's own registration (at load, initTpbOpsPlugins) holds each creator now, as
//! opposed to a loader that took it over (getPluginCreators / getCreators); what the unload deregisters.
//! Read and written only under registrationMutex. Function-local: constructed on first use, before the
//! UnloadDeregistrar that reads it at unload.
bool (&registeredByLibrary() noexcept)[kCreatorCount]
{
    static bool registered[kCreatorCount] = {};
    return registered;
}

//! This library's creators as the bookkeeping sees them (the pointers the registry stores).
struct LibraryCreators
{
    tpb::CreatorEntry entries[kCreatorCount];
};

LibraryCreators libraryCreators() noexcept
{
    LibraryCreators creators{};
    AllCreators const all = allCreators();
    for (int32_t i = 0; i < kCreatorCount; ++i)
    {
        creators.entries[i] = tpb::CreatorEntry{
            all.refs[i].registryCreator, all.refs[i].label, all.refs[i].ns, &registeredByLibrary()[i]};
    }
    return creators;
}

using GetLogger = nvinfer1::ILogger* (*) ();

//! Finds the logger through libnvinfer's exported getLogger(): TensorRT's global logger, which it
//! takes from the builder/runtime the host created (e.g. the Python side's ILogger). Immutable
//! after construction.
class NvinferGlobalLoggerFinder final : public nvinfer1::ILoggerFinder
{
public:
    explicit NvinferGlobalLoggerFinder(GetLogger getLogger) noexcept
        : mGetLogger(getLogger)
    {
    }

    nvinfer1::ILogger* findLogger() override
    {
        return mGetLogger == nullptr ? nullptr : mGetLogger();
    }

private:
    GetLogger const mGetLogger;
};

//! For hosts that never call setLoggerFinder (dlopen, initTpbOpsPlugins): route the plugin's messages
//! to TensorRT's logger instead of stderr, so they reach the host's logger with TensorRT's own.
//! A finder TensorRT already handed over through setLoggerFinder is kept.
void installNvinferLoggerFinder(void* getPluginRegistrySymbol) noexcept
{
    void* const symbol = loadedNvinferSymbol("getLogger", getPluginRegistrySymbol);
    if (symbol == nullptr)
    {
        debugLine("no getLogger beside getPluginRegistry: the plugin's messages go to stderr");
        return; // messages keep going to stderr
    }
    // Function-local: one finder per library, constructed on first use and never changed afterwards
    // (a process loads one libnvinfer, so later calls would find the same getLogger).
    static NvinferGlobalLoggerFinder finder(reinterpret_cast<GetLogger>(symbol));
    bool const installed = tpb::setPluginLoggerFinderIfUnset(&finder);
    debugLine("plugin log: %s", installed ? "to libnvinfer's getLogger()" : "kept the finder set before (setLoggerFinder or an earlier load)");
}

//! Deregisters, when this library is unmapped (dlclose of its last handle, or process exit), every
//! creator that the library's own registration put in the registry and that it still holds: a listed
//! creator whose code is unmapped would crash the next lookup. A function-local static constructed right after the first registration, so after
//! the registry it registered with (which getPluginRegistry returned before) and after the creators and
//! registrationMutex; static destructors run in reverse order of construction (at dlclose through
//! __cxa_finalize, at exit through the exit handlers), so it runs while all of those still exist.
//! Creators handed to TensorRT's loadLibrary are its to deregister (deregisterLibrary, before it unloads
//! the library): left alone here.
class UnloadDeregistrar
{
public:
    UnloadDeregistrar() noexcept = default;
    UnloadDeregistrar(UnloadDeregistrar const&) = delete;
    UnloadDeregistrar& operator=(UnloadDeregistrar const&) = delete;
    ~UnloadDeregistrar()
    {
        LoadedNvinfer const nvinfer = loadedNvinfer("unload");
        if (nvinfer.registry == nullptr)
        {
            return;
        }
        try
        {
            std::lock_guard<std::mutex> const lock(registrationMutex());
            NvinferCreatorRegistry registry(*nvinfer.registry, nvinfer.abiMatches);
            LibraryCreators const creators = libraryCreators();
            int32_t const removed = tpb::deregisterOnUnload(registry, creators.entries, kCreatorCount);
            debugLine("unload: deregistered %d creator(s) this library had registered%s", static_cast<int>(removed),
                nvinfer.abiMatches ? "" : " (none: deregisterCreator unsafe with this libnvinfer)");
        }
        catch (...)
        {
        }
    }
};

void armUnloadDeregistrar() noexcept
{
    static UnloadDeregistrar const deregistrar;
    static_cast<void>(deregistrar);
}

//! Registers every creator under \p ns (tpb::registerOnce: held there already: left; held elsewhere:
//! moved, or kept where it was if the registry refuses the move). Returns how many are registered under
//! \p ns afterwards, or -1 if the lock could not be taken. A creator that could not be registered there
//! is logged as an error naming why (e.g. another library's creator of the same name and version holds the namespace).
int32_t registerAll(LoadedNvinfer const& nvinfer, char const* ns, char const* caller) noexcept
{
    try
    {
        std::lock_guard<std::mutex> const lock(registrationMutex());
        debugRegistryContents(*nvinfer.registry, caller);
        NvinferCreatorRegistry registry(*nvinfer.registry, nvinfer.abiMatches);
        LibraryCreators const creators = libraryCreators();
        int32_t registered = 0;
        for (tpb::CreatorEntry const& entry : creators.entries)
        {
            tpb::ErrorText detail;
            tpb::RegisterOutcome const outcome = tpb::registerOnce(registry, entry, ns, detail);
            debugLine("%s: %s", caller, detail.c_str());
            if (tpb::registeredThere(outcome))
            {
                ++registered;
            }
            else
            {
                TPB_LOG_ERROR(caller, "%s", detail.c_str());
            }
            if (registry.holds(entry.creator))
            {
                armUnloadDeregistrar();
            }
        }
        debugRegistryContents(*nvinfer.registry, caller);
        return registered;
    }
    catch (...) // std::system_error from the lock; nothing may escape into the host
    {
        return -1;
    }
}

//! For getPluginCreators / getCreators: deregister those of this library's creators that the registry
//! holds (from registerAtLoad or initTpbOpsPlugins), because the caller, TensorRT's loadLibrary,
//! registers what those functions return right after and would refuse a duplicate (plugin/README.md,
//! "Registration": only a loader calls them). Where deregisterCreator is unsafe (abiMatches) they stay,
//! and that loadLibrary fails, leaving the creators registered: still exactly once.
void releaseForLoader(int32_t count, char const* caller) noexcept
{
    LoadedNvinfer const nvinfer = loadedNvinfer(caller);
    if (nvinfer.registry == nullptr)
    {
        return;
    }
    try
    {
        std::lock_guard<std::mutex> const lock(registrationMutex());
        NvinferCreatorRegistry registry(*nvinfer.registry, nvinfer.abiMatches);
        LibraryCreators const creators = libraryCreators();
        tpb::ErrorText detail;
        int32_t const released = tpb::releaseForLoader(registry, creators.entries, count, detail);
        debugLine("%s: released %d creator(s) for the loader to register%s%s", caller, static_cast<int>(released),
            detail.empty() ? "" : "; ", detail.c_str());
    }
    catch (...)
    {
    }
}

//! Runs while the library is being loaded (every dlopen that maps it, including loadLibrary's):
//! registers the creators under this build's namespace (kDefaultNamespace, "" unless TPB_PLUGIN_NAMESPACE
//! says otherwise) with the libnvinfer the process already
//! loaded, as REGISTER_TENSORRT_PLUGIN would. Without a loaded libnvinfer it does nothing: a host
//! that loads TensorRT later registers through initTpbOpsPlugins or loadLibrary.
__attribute__((constructor)) void registerAtLoad() noexcept
{
    debugLine("load: %s loaded (built against TensorRT %d.%d.%d headers)",
        objectOf(reinterpret_cast<void const*>(&registerAtLoad)), NV_TENSORRT_MAJOR, NV_TENSORRT_MINOR,
        NV_TENSORRT_PATCH);
    LoadedNvinfer const nvinfer = loadedNvinfer("load");
    if (nvinfer.getRegistrySymbol != nullptr)
    {
        installNvinferLoggerFinder(nvinfer.getRegistrySymbol);
    }
    if (nvinfer.registry == nullptr)
    {
        return;
    }
    int32_t const registered = registerAll(nvinfer, kDefaultNamespace, "load");
    if (registered != kCreatorCount)
    {
        TPB_LOG_WARNING("load", "registered %d of %d creators with TensorRT's plugin registry (see its log)",
            static_cast<int>(registered), static_cast<int>(kCreatorCount));
    }
}

} // namespace

TPB_PLUGIN_EXPORT void setLoggerFinder(nvinfer1::ILoggerFinder* finder)
{
    debugLine("setLoggerFinder(%p)", static_cast<void*>(finder));
    tpb::setPluginLoggerFinder(finder);
}

TPB_PLUGIN_EXPORT nvinfer1::IPluginCreator* const* getPluginCreators(int32_t& nbCreators)
{
#define TPB_OPS_LEGACY_PTR(Creator, label) &creatorInstance<Creator>(),
    static nvinfer1::IPluginCreator* const kCreators[] = {TPB_OPS_LEGACY_CREATORS(TPB_OPS_LEGACY_PTR)};
#undef TPB_OPS_LEGACY_PTR
    static_assert(sizeof(kCreators) / sizeof(kCreators[0]) == kLegacyCreatorCount, "the legacy list");
    // the legacy creators come first in libraryCreators()
    releaseForLoader(kLegacyCreatorCount, "getPluginCreators");
    nbCreators = static_cast<int32_t>(sizeof(kCreators) / sizeof(kCreators[0]));
    debugLine("getPluginCreators: hands %d creator(s) to the loader", static_cast<int>(nbCreators));
    return kCreators;
}

#if NV_TENSORRT_MAJOR >= 10
TPB_PLUGIN_EXPORT nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators)
{
#define TPB_OPS_ANY_PTR(Creator, label) static_cast<nvinfer1::IPluginCreatorInterface*>(&creatorInstance<Creator>()),
    static nvinfer1::IPluginCreatorInterface* const kCreators[]
        = {TPB_OPS_LEGACY_CREATORS(TPB_OPS_ANY_PTR) TPB_OPS_V3_CREATORS(TPB_OPS_ANY_PTR)};
#undef TPB_OPS_ANY_PTR
    static_assert(sizeof(kCreators) / sizeof(kCreators[0]) == kCreatorCount, "the creator list");
    nbCreators = static_cast<int32_t>(sizeof(kCreators) / sizeof(kCreators[0]));
    releaseForLoader(nbCreators, "getCreators");
    debugLine("getCreators: hands %d creator(s) to the loader", static_cast<int>(nbCreators));
    return kCreators;
}
#endif

//! Registers the creators with the process's plugin registry under \p pluginNamespace (nullptr: this
//! build's namespace, TPB_PLUGIN_NAMESPACE), for hosts that
//! load this library with dlopen/ctypes instead of IPluginRegistry::loadLibrary (the same role as
//! initLibNvInferPlugins), and, unless TensorRT already gave one through setLoggerFinder, points the
//! plugin's log at libnvinfer's getLogger(). Idempotent: a creator the registry already holds under
//! \p pluginNamespace (registered at load, by an earlier call or by loadLibrary) is not registered
//! again; one held under another namespace is moved to \p pluginNamespace. Returns the number of this
//! library's creators registered under \p pluginNamespace afterwards, or -1 when no loaded TensorRT
//! provides a plugin registry.
TPB_PLUGIN_EXPORT int32_t initTpbOpsPlugins(char const* pluginNamespace) noexcept
{
    LoadedNvinfer const nvinfer = loadedNvinfer("initTpbOpsPlugins");
    if (nvinfer.getRegistrySymbol == nullptr)
    {
        TPB_LOG_ERROR("initTpbOpsPlugins", "no loaded libnvinfer provides getPluginRegistry");
        return -1;
    }
    // Before anything can fail, so that even the errors below reach TensorRT's logger.
    installNvinferLoggerFinder(nvinfer.getRegistrySymbol);
    if (nvinfer.registry == nullptr)
    {
        TPB_LOG_ERROR("initTpbOpsPlugins", "getPluginRegistry returned no registry");
        return -1;
    }
    int32_t const registered
        = registerAll(nvinfer, pluginNamespace == nullptr ? kDefaultNamespace : pluginNamespace, "initTpbOpsPlugins");
    debugLine("initTpbOpsPlugins: returns %d", static_cast<int>(registered));
    return registered;
}
