// Plugin-library entry points: the one place where the Swish plugin creators are handed to TensorRT.
//
// There is deliberately no REGISTER_TENSORRT_PLUGIN static registration: TensorRT's library loaders
// (IPluginRegistry::loadLibrary / registry.load_library, trtexec --dynamicPlugins / --staticPlugins)
// call the functions below themselves, and a static registration on top would register every
// creator twice.
//   getPluginCreators  - TensorRT 8.6 style: IPluginCreator (V2) creators only.
//   getCreators        - TensorRT >= 10: every creator (V2 + V3) as IPluginCreatorInterface.
//   setLoggerFinder    - gives the library a way to reach TensorRT's ILogger.
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

//! libnvinfer's getPluginRegistry, found at run time in the TensorRT the process already loaded, so
//! this library still needs no link-time dependency on libnvinfer.
nvinfer1::IPluginRegistry* loadedPluginRegistry() noexcept
{
    using GetRegistry = nvinfer1::IPluginRegistry* (*) ();
    void* symbol = dlsym(RTLD_DEFAULT, "getPluginRegistry");
    if (symbol == nullptr)
    {
        char const* const candidates[] = {"libnvinfer.so." TPB_STRINGIFY(NV_TENSORRT_MAJOR), "libnvinfer.so"};
        for (char const* name : candidates)
        {
            if (void* handle = dlopen(name, RTLD_NOW | RTLD_NOLOAD))
            {
                symbol = dlsym(handle, "getPluginRegistry");
                if (symbol != nullptr)
                {
                    break;
                }
            }
        }
    }
    return symbol == nullptr ? nullptr : reinterpret_cast<GetRegistry>(symbol)();
}

} // namespace

//! Registers the creators with the process's plugin registry under \p pluginNamespace, for hosts that
//! load this library with dlopen/ctypes instead of IPluginRegistry::loadLibrary (the same role as
//! initLibNvInferPlugins). Returns the number of creators registered, or -1 when no loaded TensorRT
//! provides getPluginRegistry.
TPB_PLUGIN_EXPORT int32_t initSwishPlugins(char const* pluginNamespace) noexcept
{
    nvinfer1::IPluginRegistry* registry = loadedPluginRegistry();
    if (registry == nullptr)
    {
        TPB_LOG_ERROR("initSwishPlugins", "no loaded libnvinfer provides getPluginRegistry");
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
