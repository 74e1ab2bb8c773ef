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

#define TPB_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

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
