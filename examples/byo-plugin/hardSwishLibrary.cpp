// The one place the HardSwish creator is handed to TensorRT.
//
//   - a plain dlopen registers it (trtexec --plugins / --staticPlugins, Polygraphy --plugins,
//     ctypes.CDLL): registerAtLoad runs while the library is loaded, as REGISTER_TENSORRT_PLUGIN's
//     static registrar would, with the libnvinfer the process has loaded already;
//   - initHardSwishPlugins(namespace), for hosts that load TensorRT after this library or want
//     another namespace (the role of initLibNvInferPlugins).
// Both register only when the registry does not hold this creator yet (TensorRT's registry refuses
// a second registration of a name, version and namespace, and logs an error), so any number of
// calls in any order register it once.
//
// The registry is looked up at run time (dlsym), so the library has no link-time dependency on
// libnvinfer: it loads into whichever TensorRT the host process has (Python's tensorrt module loads
// libnvinfer privately, hence the RTLD_NOLOAD lookup by soname). The creator is a function-local
// static: built on first use, whatever the order of static initialisation, and the library's only
// object with a lifetime beyond a call. No other mutable state.
#include "hardSwishPlugin.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>

#define BYO_EXPORT extern "C" __attribute__((visibility("default")))
#define BYO_STRINGIFY_IMPL(x) #x
#define BYO_STRINGIFY(x) BYO_STRINGIFY_IMPL(x)

namespace
{

byo::HardSwishPluginCreator& creator() noexcept
{
    static byo::HardSwishPluginCreator instance;
    return instance;
}

//! The plugin registry of the libnvinfer this process loaded, or nullptr (none loaded yet).
nvinfer1::IPluginRegistry* loadedRegistry() noexcept
{
    using GetRegistry = nvinfer1::IPluginRegistry* (*) () noexcept;
    void* symbol = dlsym(RTLD_DEFAULT, "getPluginRegistry");
    for (char const* soname : {"libnvinfer.so." BYO_STRINGIFY(NV_TENSORRT_MAJOR), "libnvinfer.so"})
    {
        if (symbol != nullptr)
        {
            break;
        }
        if (void* handle = dlopen(soname, RTLD_NOW | RTLD_NOLOAD)) // never loads one: only finds it
        {
            symbol = dlsym(handle, "getPluginRegistry");
        }
    }
    return symbol == nullptr ? nullptr : reinterpret_cast<GetRegistry>(symbol)();
}

//! Where the registry holds our creator: 1 under \p ns, 0 not at all, -1 under another namespace.
int32_t heldAs(nvinfer1::IPluginRegistry& registry, char const* ns) noexcept
{
    int32_t count = 0;
#if NV_TENSORRT_MAJOR >= 10
    nvinfer1::IPluginCreatorInterface* const* list = registry.getAllCreators(&count);
    nvinfer1::IPluginCreatorInterface const* const ours = &creator();
#else
    nvinfer1::IPluginCreator* const* list = registry.getPluginCreatorList(&count);
    nvinfer1::IPluginCreator const* const ours = &creator();
#endif
    for (int32_t i = 0; list != nullptr && i < count; ++i)
    {
        if (list[i] == ours)
        {
            return std::strcmp(creator().getPluginNamespace(), ns) == 0 ? 1 : -1;
        }
    }
    return 0;
}

//! 1: the creator is registered under \p ns afterwards; 0: it is not (the reason on stderr).
int32_t registerIn(nvinfer1::IPluginRegistry& registry, char const* ns, char const* caller) noexcept
{
    int32_t const held = heldAs(registry, ns);
    if (held != 0)
    {
        if (held < 0)
        {
            std::fprintf(stderr, "[HardSwish plugin] %s: already registered under namespace \"%s\", not \"%s\"\n",
                caller, creator().getPluginNamespace(), ns);
        }
        return held > 0 ? 1 : 0;
    }
    creator().setPluginNamespace(ns);
    return registry.registerCreator(creator(), ns) ? 1 : 0;
}

__attribute__((constructor)) void registerAtLoad() noexcept
{
    if (nvinfer1::IPluginRegistry* registry = loadedRegistry())
    {
        registerIn(*registry, "", "load");
    } // no TensorRT loaded yet: initHardSwishPlugins registers later
}

} // namespace

//! Registers the HardSwish creator under \p pluginNamespace (nullptr: "") with the loaded
//! libnvinfer's registry. Returns 1 when it is registered there afterwards (also when it already
//! was), 0 when the registry refused it or holds it under another namespace, -1 when no loaded
//! libnvinfer provides a registry.
BYO_EXPORT int32_t initHardSwishPlugins(char const* pluginNamespace) noexcept
{
    nvinfer1::IPluginRegistry* registry = loadedRegistry();
    if (registry == nullptr)
    {
        std::fprintf(stderr, "[HardSwish plugin] initHardSwishPlugins: no loaded libnvinfer provides getPluginRegistry\n");
        return -1;
    }
    return registerIn(*registry, pluginNamespace == nullptr ? "" : pluginNamespace, "initHardSwishPlugins");
}
