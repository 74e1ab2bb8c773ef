// Plugin-library entry points: the one place where the Swish plugin creators are handed to TensorRT.
//
// Only two paths register the creators:
//   - IPluginRegistry::loadLibrary (Python registry.load_library, trtexec --dynamicPlugins), which
//     calls setLoggerFinder and then getPluginCreators / getCreators below;
//   - initSwishPlugins below, for hosts that dlopen the library themselves (the role of
//     initLibNvInferPlugins).
// A plain dlopen registers nothing: that is what trtexec --plugins (8.6) and --staticPlugins (10.x)
// do, since they expect the library to register itself statically. There is deliberately no
// REGISTER_TENSORRT_PLUGIN static registration (yet): on top of loadLibrary it would register every
// creator twice.
//   getPluginCreators  - TensorRT 8.6 style: IPluginCreator (V2) creators only.
//   getCreators        - TensorRT >= 10: every creator (V2 + V3) as IPluginCreatorInterface.
//   setLoggerFinder    - gives the library a way to reach TensorRT's ILogger.
//   initSwishPlugins   - registers the creators with the loaded libnvinfer's registry.
#include "NvInferRuntime.h"

#include "pluginLog.h"
#include "swishPlugin.h"
#include "swishPluginLegacy.h"

#include <cstdint>
#include <dlfcn.h>

#define TPB_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))
#define TPB_STRINGIFY_IMPL(x) #x
#define TPB_STRINGIFY(x) TPB_STRINGIFY_IMPL(x)

namespace
{

// Function-local statics: constructed on first use, one instance per library, shared by both
// getters so that a namespace set through one is seen through the other.
tpb::SwishPluginLegacyCreator& legacyCreator() noexcept
{
    static tpb::SwishPluginLegacyCreator creator;
    return creator;
}

#if NV_TENSORRT_MAJOR >= 10
tpb::SwishPluginCreator& v3Creator() noexcept
{
    static tpb::SwishPluginCreator creator;
    return creator;
}
#endif

} // namespace

TPB_PLUGIN_EXPORT void setLoggerFinder(nvinfer1::ILoggerFinder* finder)
{
    tpb::setPluginLoggerFinder(finder);
}

TPB_PLUGIN_EXPORT nvinfer1::IPluginCreator* const* getPluginCreators(int32_t& nbCreators)
{
    static nvinfer1::IPluginCreator* const kCreators[] = {&legacyCreator()};
    nbCreators = static_cast<int32_t>(sizeof(kCreators) / sizeof(kCreators[0]));
    return kCreators;
}

#if NV_TENSORRT_MAJOR >= 10
TPB_PLUGIN_EXPORT nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators)
{
    static nvinfer1::IPluginCreatorInterface* const kCreators[] = {&legacyCreator(), &v3Creator()};
    nbCreators = static_cast<int32_t>(sizeof(kCreators) / sizeof(kCreators[0]));
    return kCreators;
}
#endif

namespace
{

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
//! library.
void* loadedNvinferSymbol(char const* name, void const* sibling = nullptr) noexcept
{
    auto const usable = [sibling](void const* symbol) noexcept
    { return symbol != nullptr && (sibling == nullptr || sameObject(symbol, sibling)); };
    if (void* symbol = dlsym(RTLD_DEFAULT, name); usable(symbol))
    {
        return symbol;
    }
    char const* const candidates[] = {"libnvinfer.so." TPB_STRINGIFY(NV_TENSORRT_MAJOR), "libnvinfer.so"};
    for (char const* library : candidates)
    {
        if (void* handle = dlopen(library, RTLD_NOW | RTLD_NOLOAD))
        {
            if (void* symbol = dlsym(handle, name); usable(symbol))
            {
                return symbol;
            }
        }
    }
    return nullptr;
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

//! For hosts that never call setLoggerFinder (dlopen + initSwishPlugins): route the plugin's messages
//! to TensorRT's logger instead of stderr, so they reach the host's logger with TensorRT's own.
//! A finder TensorRT already handed over through setLoggerFinder is kept.
void installNvinferLoggerFinder(void* getPluginRegistrySymbol) noexcept
{
    void* const symbol = loadedNvinferSymbol("getLogger", getPluginRegistrySymbol);
    if (symbol == nullptr)
    {
        return; // messages keep going to stderr
    }
    // Function-local: one finder per library, constructed on first use and never changed afterwards
    // (a process loads one libnvinfer, so later calls would find the same getLogger).
    static NvinferGlobalLoggerFinder finder(reinterpret_cast<GetLogger>(symbol));
    tpb::setPluginLoggerFinderIfUnset(&finder);
}

} // namespace

//! Registers the creators with the process's plugin registry under \p pluginNamespace, for hosts that
//! load this library with dlopen/ctypes instead of IPluginRegistry::loadLibrary (the same role as
//! initLibNvInferPlugins), and, unless TensorRT already gave one through setLoggerFinder, points the
//! plugin's log at libnvinfer's getLogger(). Returns the number of creators registered, or -1 when no
//! loaded TensorRT provides a plugin registry.
TPB_PLUGIN_EXPORT int32_t initSwishPlugins(char const* pluginNamespace) noexcept
{
    void* const getRegistry = loadedNvinferSymbol("getPluginRegistry");
    if (getRegistry == nullptr)
    {
        TPB_LOG_ERROR("initSwishPlugins", "no loaded libnvinfer provides getPluginRegistry");
        return -1;
    }
    // Before anything can fail, so that even the errors below reach TensorRT's logger.
    installNvinferLoggerFinder(getRegistry);
    using GetRegistry = nvinfer1::IPluginRegistry* (*) ();
    nvinfer1::IPluginRegistry* registry = reinterpret_cast<GetRegistry>(getRegistry)();
    if (registry == nullptr)
    {
        TPB_LOG_ERROR("initSwishPlugins", "getPluginRegistry returned no registry");
        return -1;
    }
    char const* ns = pluginNamespace == nullptr ? "" : pluginNamespace;
    int32_t registered = 0;
    legacyCreator().setPluginNamespace(ns);
    registered += registry->registerCreator(legacyCreator(), ns) ? 1 : 0;
#if NV_TENSORRT_MAJOR >= 10
    v3Creator().setPluginNamespace(ns);
    registered += registry->registerCreator(v3Creator(), ns) ? 1 : 0;
#endif
    return registered;
}
